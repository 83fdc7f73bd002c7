import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app';
import { applyTheme, initialTheme, safeStorage, systemPrefersDark } from './theme';
import './styles.css';

// Before the first paint, so a dark-mode user never sees a white flash.
applyTheme(initialTheme(safeStorage(), systemPrefersDark()));

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
