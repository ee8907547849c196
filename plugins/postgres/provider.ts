/**
 * The Postgres provider plug-in point: one implementation per file
 * (testcontainers.ts, embedded.ts, external.ts), each answering
 * "available? / start / stop".
 */

/** Names of the built-in providers. */
export type { ProviderName } from '../core/config.ts';

import type { ProviderName } from '../core/config.ts';

/** Options every provider understands; providers ignore what does not apply to them. */
export interface ProviderOptions {
  /** Docker image for testcontainers. Default `postgres:17-alpine`; env `SHIPGATE_PG_IMAGE`. */
  image?: string;
  /** Server `max_connections`. Default 200; env `SHIPGATE_PG_MAX_CONNECTIONS`. */
  maxConnections?: number;
  /** Keep the data directory on tmpfs where the provider allows it. Default true. */
  tmpfs?: boolean;
  /** Admin URL of an existing server, for the external provider. Env `SHIPGATE_DATABASE_URL`. */
  adminUrl?: string;
  /** Embedded Postgres version (major, or `major.minor`). Default: the major of the machine's pg_dump; env `SHIPGATE_PG_VERSION`. */
  version?: string;
  /** Parent folder of the embedded server's data dir. Default `/dev/shm` when it has room, else the OS temp dir; env `SHIPGATE_EMBEDDED_DIR`. */
  embeddedDir?: string;
  /** How long a server may take to start, in ms. Default 60_000. */
  startTimeoutMs?: number;
}

/** The answer to "can this provider run here?". */
export type Availability = { ok: true; detail: string } | { ok: false; reason: string };

/** A running Postgres server shipgate can create databases on. */
export interface StartedPostgres extends AsyncDisposable {
  readonly provider: ProviderName;
  /** Superuser URL to the maintenance database (`postgres`). */
  readonly adminUrl: string;
  /** Server major version, e.g. 17. */
  readonly major: number;
  /** `SHOW server_version`. */
  readonly version: string;
  /** `SHOW max_connections`. */
  readonly maxConnections: number;
  /** True when the server itself is throwaway (stopped and removed by `stop()`). */
  readonly ephemeral: boolean;
  /** Human-readable location, e.g. container id or data dir. */
  readonly detail: string;
  /** Docker container id (testcontainers only), e.g. to run the server's own `pg_dump` inside it. */
  readonly containerId?: string;
  /** Stops the server (ephemeral) or closes shipgate's admin connections (external). Idempotent. */
  stop(): Promise<void>;
}

/** A Postgres provider: available-or-why-not, start. Stop lives on the started handle. */
export interface PostgresProvider {
  readonly name: ProviderName;
  available(options: ProviderOptions): Promise<Availability>;
  start(options: ProviderOptions): Promise<StartedPostgres>;
}
