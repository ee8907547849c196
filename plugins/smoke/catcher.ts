/**
 * The lock catcher makes write-blocking locks of short files visible. Sampling alone misses a
 * lock taken and released between two samples (a CREATE INDEX on a few hundred rows lasts
 * about a millisecond). So before a file runs, one connection per existing table the file
 * names opens a transaction holding ROW EXCLUSIVE on it, the lock every INSERT/UPDATE/DELETE
 * takes. A migration statement that needs a lock conflicting with writes (SHARE and stronger)
 * must then queue behind it, where the watcher sees the request and its mode; the watcher
 * releases that catcher at once (measured in ms, far below lock_timeout). Locks that let
 * writes through (SHARE UPDATE EXCLUSIVE, as CREATE INDEX CONCURRENTLY takes) never wait.
 * A catcher that blocks the file in any other way (CONCURRENTLY waits for older
 * transactions) is released the same way: the watcher checks `pg_blocking_pids`. A request that
 * also waits for another session is not the catcher's: the catcher is released and the wait is
 * the migration's (the watcher records it as a wait, never as a hold).
 */
import pg from 'pg';
import { pgConnectOptions } from '../core/pg-timeouts.ts';

interface Catch {
  client: pg.Client;
  pid: number;
  table: { qname: string };
  holding: boolean;
}

/** Catcher connections, reused from file to file. */
export class LockCatcher {
  private readonly url: string;
  private readonly idle: Catch[] = [];
  private readonly active = new Map<number, Catch>();

  constructor(url: string) {
    this.url = url;
  }

  /** Takes ROW EXCLUSIVE on each table, one transaction per table. Returns the catchers' pids. */
  async arm(tables: readonly { qname: string }[]): Promise<number[]> {
    for (const table of tables) {
      let c = this.idle.pop();
      if (!c) {
        const client = new pg.Client({
          ...pgConnectOptions(),
          connectionString: this.url,
          application_name: 'shipgate:smoke-catcher',
        });
        client.on('error', () => {});
        await client.connect();
        const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? 0;
        c = { client, pid, table, holding: false };
      }
      c.table = table;
      await c.client.query('BEGIN');
      await c.client.query(`LOCK TABLE ${table.qname} IN ROW EXCLUSIVE MODE`);
      c.holding = true;
      this.active.set(c.pid, c);
    }
    return [...this.active.keys()];
  }

  /** Pids of catchers still holding. */
  pids(): number[] {
    return [...this.active.keys()];
  }

  /** Releases one catcher (the file waits on it). */
  async release(pid: number): Promise<void> {
    const c = this.active.get(pid);
    if (!c) return;
    this.active.delete(pid);
    if (c.holding) await c.client.query('COMMIT').catch(() => {});
    c.holding = false;
    this.idle.push(c);
  }

  /** Releases every catcher. */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.active.keys()].map((pid) => this.release(pid)));
  }

  async close(): Promise<void> {
    await this.releaseAll();
    await Promise.all(this.idle.splice(0).map((c) => c.client.end().catch(() => {})));
  }
}
