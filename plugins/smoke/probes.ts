/**
 * Concurrent read/write probes: while a migration file runs, one connection per table loops
 * a read (`SELECT … LIMIT 1`) and a write (an UPDATE of one row to itself, rolled back, so
 * the data is untouched) and times each. An operation that waits for the migration's lock
 * takes as long as the wait, so the time beyond three times a probe's own median is counted
 * as blocked (the factor keeps ordinary jitter out). Probes run only on the tables the file names.
 */
import pg from 'pg';
import { describeError } from '../core/errors.ts';
import { pgConnectOptions } from '../core/pg-timeouts.ts';
import { ident, namesIdentifier, type TableInfo } from './introspect.ts';
import type { ProbeEvidence } from './types.ts';

interface Probe {
  table: TableInfo;
  client: pg.Client;
  reads: number[];
  writes: number[];
  errors: string[];
  loop?: Promise<void>;
}

/** The tables `sql` names (quoted or bare), among `tables`. */
export function tablesNamedIn(sql: string, tables: TableInfo[]): TableInfo[] {
  return tables.filter((t) => namesIdentifier(sql, t.name, 'i'));
}

/** Read and write probes on a set of tables. */
export class Probes {
  private readonly probes: Probe[] = [];
  private stopping = false;

  private constructor() {}

  /** Opens one connection per table (at most `max`). */
  static async open(url: string, tables: TableInfo[], max = 8): Promise<Probes> {
    const p = new Probes();
    for (const table of tables.slice(0, max)) {
      const client = new pg.Client({
        ...pgConnectOptions(),
        connectionString: url,
        application_name: 'shipgate:smoke-probe',
        statement_timeout: 120_000,
      });
      client.on('error', () => {});
      await client.connect();
      p.probes.push({ table, client, reads: [], writes: [], errors: [] });
    }
    return p;
  }

  /** Backend pids of the probe connections (the watcher leaves them out). */
  async pids(): Promise<number[]> {
    const out: number[] = [];
    for (const p of this.probes)
      out.push((await p.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? 0);
    return out;
  }

  start(): void {
    this.stopping = false;
    for (const p of this.probes) p.loop = this.run(p);
  }

  private async run(p: Probe): Promise<void> {
    const key = p.table.columns.find((c) => !c.generated);
    const read = `SELECT * FROM ${p.table.qname} LIMIT 1`;
    const write = key
      ? `UPDATE ${p.table.qname} SET ${ident(key.name)} = ${ident(key.name)} WHERE ctid = (SELECT ctid FROM ${p.table.qname} LIMIT 1)`
      : undefined;
    while (!this.stopping && p.errors.length < 3) {
      try {
        let t = performance.now();
        await p.client.query(read);
        p.reads.push(performance.now() - t);
        if (write) {
          await p.client.query('BEGIN');
          t = performance.now();
          try {
            await p.client.query(write);
            p.writes.push(performance.now() - t);
          } finally {
            await p.client.query('ROLLBACK');
          }
        }
      } catch (err) {
        p.errors.push(describeError(err));
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  /** Stops the loops (waiting for the operations in flight) and returns what each table saw. */
  async stop(): Promise<ProbeEvidence[]> {
    this.stopping = true;
    await Promise.all(this.probes.map((p) => p.loop));
    return this.probes.map((p) => {
      const ev: ProbeEvidence = {
        table: p.table.label,
        reads: p.reads.length,
        writes: p.writes.length,
        maxReadMs: round(Math.max(0, ...p.reads)),
        maxWriteMs: round(Math.max(0, ...p.writes)),
        readBlockedMs: blocked(p.reads),
        writeBlockedMs: blocked(p.writes),
        errors: [...new Set(p.errors)],
      };
      p.reads = [];
      p.writes = [];
      p.errors = [];
      return ev;
    });
  }

  async close(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.probes.map((p) => p.loop?.catch(() => {})));
    await Promise.all(this.probes.map((p) => p.client.end().catch(() => {})));
  }
}

/** Time beyond three medians, summed: ms spent blocked rather than working. */
function blocked(samples: number[]): number {
  if (samples.length === 0) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)] as number;
  return round(sorted.reduce((sum, s) => sum + Math.max(0, s - median * 3), 0));
}

const round = (ms: number) => Math.round(ms * 100) / 100;
