import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [svelte({ configFile: false })],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: true },
});
