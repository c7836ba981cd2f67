/// <reference types="vitest/config" />
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';
import { thirdPartyLicences } from './build/licenses.ts';

const workspace = fileURLToPath(new URL('..', import.meta.url));

/** The commit About shows; a tree outside git (an unpacked source archive) has none. */
function buildCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: workspace,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

export default defineConfig({
  plugins: [svelte(), svelteTesting({ autoCleanup: true }), ...thirdPartyLicences(workspace)],
  define: { __BUILD_COMMIT__: JSON.stringify(buildCommit()) },
  // Tauri serves the files from its own protocol, so asset URLs must be relative.
  base: './',
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // WebKitGTK 2.40+ / WebView2 / WKWebView of the supported OS versions.
    target: 'es2022',
    reportCompressedSize: true,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
    setupFiles: ['./src/test-setup.ts'],
  },
});
