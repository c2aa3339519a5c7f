/**
 * The admin page's files (admin-page.html, .css, .js beside this module), read once at start-up.
 * They sit next to this file in the source tree (tests start the coordinator from source) and in
 * admin/page/ of the built app, where scripts/copy-assets.js copies them (webpack bundles only code).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AdminPageAssets {
  html: string;
  css: string;
  script: string;
}

const FILES: Record<keyof AdminPageAssets, string> = { html: 'admin-page.html', css: 'admin-page.css', script: 'admin-page.js' };

/**
 * The folder holding the page's files: this module's own (from source), or admin/page under the
 * bundle's folder (from dist, where __dirname is dist/apps/coordinator).
 */
export function adminPageDir(base: string = __dirname): string {
  const candidates = [base, join(base, 'admin', 'page')];
  const found = candidates.find((dir) => existsSync(join(dir, FILES.html)));
  if (!found) throw new Error(`admin page: ${FILES.html} is neither in ${candidates.join(' nor in ')} (a build without its assets? see nest-cli.json)`);
  return found;
}

export function loadAdminPageAssets(dir: string = adminPageDir()): AdminPageAssets {
  const read = (key: keyof AdminPageAssets): string => readFileSync(join(dir, FILES[key]), 'utf8');
  return { html: read('html'), css: read('css'), script: read('script') };
}
