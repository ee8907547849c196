import path from 'node:path';
import { parseArgs } from 'node:util';
import { ShipgateError } from '../../core/errors.ts';
import { envValue } from '../../core/settings.ts';
import { prismaGenerate } from '../../prisma/generate.ts';
import { findPrismaSchema } from '../../prisma/schema-location.ts';
import { printHelp, root, usageError } from '../run.ts';

/** `shipgate generate [schema] [--force]`: the project's `prisma generate` without Prisma's engine download, skipped when up to date. */
export const summary = "the project's prisma generate (engine-free; skipped when up to date)";

const USAGE = `usage: shipgate generate [schema.prisma|schema-folder] [--force]

Runs the project's own \`prisma generate\` without downloading Prisma's schema engine, and skips
it when the client is up to date. The schema is the argument, else SHIPGATE_PRISMA_SCHEMA, else
the \`schema\` of prisma.config.*, else package.json "prisma.schema", else prisma/schema.prisma.
  --force    regenerate even when up to date [SHIPGATE_PRISMA_GENERATE_FORCE=1]
`;

/** Generates the client; with `optional`, a project without a Prisma schema is not an error (the `shipgate test` pipeline). */
export async function generateClient(
  argv: string[],
  options: { optional?: boolean; log?: (line: string) => void } = {},
): Promise<number> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let values: { force?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    return usageError('generate', (err as Error).message, USAGE);
  }
  if (values.help) return printHelp(USAGE);
  if (positionals.length > 1) return usageError('generate', `expected one schema, got ${positionals.length}`, USAGE);
  const timeout = envValue('SHIPGATE_PRISMA_GENERATE_TIMEOUT_MS');
  if (timeout !== undefined && !/^[1-9]\d*$/.test(timeout)) {
    return usageError(
      'generate',
      `SHIPGATE_PRISMA_GENERATE_TIMEOUT_MS is "${timeout}"; expected a positive whole number of milliseconds (default 120000)`,
      USAGE,
    );
  }
  let schema = positionals[0] ? path.resolve(positionals[0]) : undefined;
  if (!schema) {
    const found = findPrismaSchema(root);
    if (!found.ok) {
      if (options.optional) {
        log(`shipgate: generate skipped (${found.reason})`);
        return 0;
      }
      process.stderr.write(
        `shipgate generate: ${found.reason}.\nPass the schema (shipgate generate prisma/schema.prisma) or set SHIPGATE_PRISMA_SCHEMA.\n`,
      );
      return 1;
    }
    schema = found.path;
  }
  try {
    const result = await prismaGenerate({ schema, cwd: root, ...(values.force ? { force: true } : {}) });
    log(
      `shipgate: prisma client ${result.skipped ? 'up to date' : 'generated'} (${path.relative(root, result.output) || result.output}, prisma ${result.prismaVersion}, ${result.durationMs.toFixed(0)} ms)`,
    );
    return 0;
  } catch (err) {
    if (!(err instanceof ShipgateError)) throw err;
    process.stderr.write(`shipgate generate: ${err.code}: ${err.message}\n`);
    return 1;
  }
}

export default function generate(argv: string[]): Promise<number> {
  return generateClient(argv);
}
