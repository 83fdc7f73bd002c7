import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const GATEWAY = 'http://127.0.0.1:8080';

// `npm run dev -w @jousting/ui` serves the UI with hot reload against a gateway on :8080.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: {
    proxy: {
      '/api': { target: GATEWAY },
      '/ws': { target: GATEWAY, ws: true },
    },
  },
});
