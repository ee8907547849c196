import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { envValue } from '../core/settings.ts';

/**
 * Where a project keeps its Prisma schema, found the way Prisma finds it. Ordered strategies,
 * first applicable wins; each says why it does not apply:
 *   1. `SHIPGATE_PRISMA_SCHEMA`;
 *   2. the `schema` of `prisma.config.{ts,mts,cts,js,mjs,cjs}` in the project root;
 *   3. `prisma.schema` in package.json (Prisma 6 and earlier);
 *   4. `prisma/schema.prisma`, a `prisma/schema/` folder, or `schema.prisma`.
 * The config file is read as text, not run: running it would need its imports and env.
 */

export type SchemaLocation =
  | { ok: true; path: string; source: string; config?: string }
  | { ok: false; reason: string };

export const PRISMA_CONFIG_FILES = [
  'prisma.config.ts',
  'prisma.config.mts',
  'prisma.config.cts',
  'prisma.config.js',
  'prisma.config.mjs',
  'prisma.config.cjs',
] as const;

/** Finds the Prisma schema of the project at `root`. */
export function findPrismaSchema(root: string, env: NodeJS.ProcessEnv = process.env): SchemaLocation {
  const tried: string[] = [];
  const fromEnv = envValue('SHIPGATE_PRISMA_SCHEMA', env);
  if (fromEnv) {
    const file = path.resolve(root, fromEnv);
    if (existsSync(file)) return { ok: true, path: file, source: 'SHIPGATE_PRISMA_SCHEMA' };
    return {
      ok: false,
      reason: `SHIPGATE_PRISMA_SCHEMA is "${envValue('SHIPGATE_PRISMA_SCHEMA', env)}", but ${file} does not exist`,
    };
  }
  const config = PRISMA_CONFIG_FILES.map((n) => path.join(root, n)).find((f) => existsSync(f));
  if (config) {
    const m = /\bschema\s*:\s*(['"`])([^'"`]+)\1/.exec(readFileSync(config, 'utf8'));
    if (m?.[2]) {
      const file = path.resolve(path.dirname(config), m[2]);
      if (existsSync(file)) return { ok: true, path: file, source: path.basename(config), config };
      tried.push(`${path.basename(config)} names schema "${m[2]}", which does not exist`);
    } else tried.push(`${path.basename(config)} has no literal \`schema: '…'\``);
  }
  const pkgFile = path.join(root, 'package.json');
  if (existsSync(pkgFile)) {
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { prisma?: { schema?: unknown } };
    if (typeof pkg.prisma?.schema === 'string') {
      const file = path.resolve(root, pkg.prisma.schema);
      if (existsSync(file)) return { ok: true, path: file, source: 'package.json "prisma.schema"', config };
      tried.push(`package.json "prisma.schema" is "${pkg.prisma.schema}", which does not exist`);
    }
  }
  for (const rel of ['prisma/schema.prisma', 'prisma/schema', 'schema.prisma']) {
    const file = path.join(root, rel);
    if (existsSync(file)) return { ok: true, path: file, source: rel, config };
  }
  tried.push('no prisma/schema.prisma, prisma/schema/ or schema.prisma');
  return { ok: false, reason: `no Prisma schema in ${root}: ${tried.join('; ')}` };
}
