import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { packageRoot } from '../runtime/local/package-root.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The dashboard's files (src/dashboard) and uPlot, read once and served from memory under fixed names: nothing a
 * request names is looked up on disk.
 */
export function serveDashboard(app: FastifyInstance): void {
  const files = new Map<string, { type: string; body: Buffer }>();
  const folder = join(packageRoot(), 'src', 'dashboard');
  for (const name of readdirSync(folder)) {
    const type = TYPES[extname(name)];
    if (type) files.set(`/dashboard/${name}`, { type, body: readFileSync(join(folder, name)) });
  }
  const uplot = dirname(createRequire(import.meta.url).resolve('uplot/package.json'));
  files.set('/vendor/uplot.js', { type: TYPES['.js']!, body: readFileSync(join(uplot, 'dist', 'uPlot.iife.min.js')) });
  files.set('/vendor/uplot.css', { type: TYPES['.css']!, body: readFileSync(join(uplot, 'dist', 'uPlot.min.css')) });
  const index = files.get('/dashboard/index.html');
  if (index)
    app.get('/', (_request, reply) => reply.type(index.type).header('cache-control', 'no-store').send(index.body));
  for (const [path, file] of files) app.get(path, (_request, reply) => reply.type(file.type).send(file.body));
}
