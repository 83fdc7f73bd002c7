import react from '@vitejs/plugin-react';
import { defineConfig, type PluginOption } from 'vite';

const GATEWAY = 'http://127.0.0.1:8080';

// plugin-react's type declarations resolve the hoisted vite 8 (vitest's) while this package builds
// with vite 7; the plugin supports both at runtime, only the declared hook types differ.
const reactPlugin = react() as unknown as PluginOption;

// `npm run dev -w @jousting/ui` serves the UI with hot reload against a gateway on :8080.
export default defineConfig({
  plugins: [reactPlugin],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: {
    proxy: {
      '/api': { target: GATEWAY },
      '/ws': { target: GATEWAY, ws: true },
    },
  },
});
