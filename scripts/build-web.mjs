// Bundles the dashboard (web/) into dist/dashboard/: one script, one style sheet, the page.
// No CDN: everything it needs is in these three files.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'dashboard');
fs.mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: path.join(root, 'web/src/main.ts') },
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  outdir: out,
  logLevel: 'warning',
});
await build({ entryPoints: { app: path.join(root, 'web/src/style.css') }, bundle: true, minify: true, outdir: out, logLevel: 'warning' });
fs.copyFileSync(path.join(root, 'web/index.html'), path.join(out, 'index.html'));
