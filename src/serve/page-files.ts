import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * The files the page is made of, by URL path: web/ (the page, from the package: two folders up
 * from this file in src/serve/ and in dist/serve/ alike) and the browser builds of vega and
 * vega-lite from node_modules. A fixed list, made once: no request path ever reaches the file
 * system through it.
 */
export function pageFiles(): Map<string, { path: string; type: string }> {
  const web = fileURLToPath(new URL('../../web/', import.meta.url));
  const files = new Map<string, { path: string; type: string }>();
  for (const name of readdirSync(web)) {
    const type = TYPES[extname(name)];
    if (type) files.set(`/${name}`, { path: join(web, name), type });
  }
  files.set('/', files.get('/index.html')!);
  const require = createRequire(import.meta.url);
  files.set('/vendor/vega.min.js', { path: join(dirname(require.resolve('vega')), 'vega.min.js'), type: TYPES['.js'] });
  files.set('/vendor/vega-lite.min.js', { path: join(dirname(require.resolve('vega-lite')), 'vega-lite.min.js'), type: TYPES['.js'] });
  return files;
}
