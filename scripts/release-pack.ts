import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

/**
 * `pnpm release:pack [--out dir]`: the package as users get it. `npm pack` runs `prepack`
 * (the dist build), then this checks the tarball: every entry of `exports` and `bin` is in it,
 * and it holds no TypeScript source (Node does not strip types under node_modules). Prints one
 * JSON line: `{ tarball, bytes, files }`. Exit 1 when the check fails, 64 on a bad flag.
 */

interface PackEntry {
  filename: string;
  size: number;
  files: { path: string }[];
}

export function packRelease(out: string): { tarball: string; bytes: number; files: number } {
  mkdirSync(out, { recursive: true });
  const root = path.resolve(import.meta.dirname, '..');
  const json = execFileSync('npm', ['pack', '--json', '--pack-destination', out], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [entry] = JSON.parse(json) as PackEntry[];
  if (!entry) throw new Error('release:pack: npm pack --json printed no entry');
  const files = new Set(entry.files.map((f) => f.path));
  const problems: string[] = [];
  const source = [...files].filter((f) => /\.[cm]?ts$/.test(f) && !/\.d\.[cm]?ts$/.test(f));
  if (source.length) problems.push(`TypeScript source in the tarball: ${source.slice(0, 5).join(', ')}`);
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, string | { types: string; default: string }>;
    bin: Record<string, string>;
  };
  const targets = [
    ...Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : [e.types, e.default])),
    ...Object.values(pkg.bin),
  ];
  for (const t of targets) {
    const rel = t.replace(/^\.\//, '');
    if (!files.has(rel)) problems.push(`${t} (named in package.json) is not in the tarball`);
  }
  if (problems.length)
    throw new Error(`release:pack: ${problems.join('; ')}. Run \`pnpm build\` and check tsconfig.build.json.`);
  return { tarball: path.join(out, entry.filename), bytes: entry.size, files: files.size };
}

if (import.meta.main) {
  let out: string;
  try {
    out = path.resolve(parseArgs({ options: { out: { type: 'string' } } }).values.out ?? '.shipgate/pack');
  } catch (err) {
    process.stderr.write(`release:pack: ${(err as Error).message}\nusage: pnpm release:pack [--out dir]\n`);
    process.exit(64);
  }
  try {
    process.stdout.write(`${JSON.stringify(packRelease(out))}\n`);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}
