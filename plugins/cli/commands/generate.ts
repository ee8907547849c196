import path from 'node:path';
import { root, run } from '../run.ts';

/** `shipgate generate [schema]`: `prisma generate` without Prisma's engine download, skipped when up to date. */
export const summary = 'prisma generate (engine-free; skipped when up to date)';

export default function generate(argv: string[]): Promise<number> {
  const schema = path.resolve(argv[0] ?? path.join(root, 'example', 'prisma', 'schema.prisma'));
  return run(process.execPath, [path.join(root, 'plugins', 'prisma', 'generate.ts'), schema]);
}
