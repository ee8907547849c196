/** Where the drift check finds schema.prisma: the option, else `schema.prisma` (or a `schema/` folder) beside the head migrations folder. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.ts';

/** The schema to diff against, or why there is none (the drift check is then skipped with that reason). */
export function resolveSchema(
  schema: string | false | undefined,
  head: string,
  cwd: string,
): { path: string } | { reason: string } {
  if (schema === false) return { reason: 'schema: false in the options (no drift check wanted)' };
  if (schema !== undefined) {
    const file = path.resolve(cwd, schema);
    if (!existsSync(file)) throw new ConfigError([`schema "${file}" does not exist (--schema, SmokeOptions.schema)`]);
    return { path: file };
  }
  const beside = path.dirname(head);
  for (const candidate of [path.join(beside, 'schema.prisma'), path.join(beside, 'schema')]) {
    if (existsSync(candidate)) return { path: candidate };
  }
  return { reason: `no schema.prisma beside ${head} (pass --schema to check drift)` };
}
