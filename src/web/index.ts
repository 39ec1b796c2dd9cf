/**
 * web: the dashboard. Its page and scripts are written under `web/` (browser
 * code, its own tsconfig) and bundled by the build into `dist/dashboard/`;
 * this part only finds that folder for the API to serve.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The built dashboard's folder, from the compiled package (`dist/web/` → `dist/dashboard/`) or from the sources (`src/web/`); undefined when it was never built. */
export function dashboardDir(): string | undefined {
  for (const candidate of [path.resolve(here, '../dashboard'), path.resolve(here, '../../dist/dashboard')]) {
    if (fs.existsSync(path.join(candidate, 'index.html'))) return candidate;
  }
  return undefined;
}
