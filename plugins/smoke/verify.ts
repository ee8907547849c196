/**
 * After the head apply: every migration is recorded as finished in `_prisma_migrations` with
 * no failed rows; no INVALID indexes; every sequence is at or past the largest value of the
 * column it feeds; NOT VALID constraints are listed.
 */
import type pg from 'pg';
import { ident } from './introspect.ts';
import type { Finding } from './types.ts';

/** Checks `_prisma_migrations` against the head's migration names. */
export async function checkRecorded(
  client: pg.Client,
  expected: string[],
): Promise<{ findings: Finding[]; evidence: Record<string, unknown> }> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass('_prisma_migrations')::text AS t");
  if (!exists.rows[0]?.t) {
    return {
      findings: [
        {
          code: 'recorded/no-history',
          verdict: 'FAIL',
          message: 'The database has no _prisma_migrations table after the apply.',
        },
      ],
      evidence: {},
    };
  }
  const { rows } = await client.query<{
    migration_name: string;
    finished: boolean;
    rolled_back: boolean;
    logs: string | null;
    started_at: string;
  }>(
    `SELECT migration_name, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back, logs,
            started_at::text AS started_at
       FROM _prisma_migrations ORDER BY started_at`,
  );
  const findings: Finding[] = [];
  for (const r of rows.filter((r) => !r.finished && !r.rolled_back)) {
    // Prisma writes logs when a script fails (record_failed_step); a row without them was never
    // told how it ended: still running, or its session died before it could record anything.
    if (!r.logs?.trim()) {
      findings.push({
        code: 'recorded/unfinished-row',
        verdict: 'FAIL',
        migration: r.migration_name,
        target: r.migration_name,
        message: `_prisma_migrations has an unfinished row for "${r.migration_name}" (started ${r.started_at}, no finished_at, no rolled_back_at, no error logged): in progress or interrupted, not known to have failed; the next \`migrate deploy\` still stops on it with P3009 until it is resolved.`,
        evidence: { state: 'unfinished', startedAt: r.started_at },
      });
      continue;
    }
    const code = /Database error code: (\w+)/.exec(r.logs)?.[1];
    const sqlstate = code && code !== 'none' ? code : undefined;
    findings.push({
      code: 'recorded/failed-row',
      verdict: 'FAIL',
      migration: r.migration_name,
      target: r.migration_name,
      message: `_prisma_migrations has a failed row for "${r.migration_name}"${sqlstate ? ` (SQLSTATE ${sqlstate})` : ' (error logged without a SQLSTATE)'}: the next \`migrate deploy\` stops with P3009 until it is resolved.`,
      evidence: sqlstate ? { sqlstate } : {},
    });
  }
  const finished = new Set(rows.filter((r) => r.finished && !r.rolled_back).map((r) => r.migration_name));
  for (const name of expected.filter((n) => !finished.has(n))) {
    if (findings.some((f) => f.migration === name)) continue;
    findings.push({
      code: 'recorded/missing',
      verdict: 'FAIL',
      migration: name,
      target: name,
      message: `Migration "${name}" is not recorded as finished in _prisma_migrations.`,
    });
  }
  return { findings, evidence: { rows: rows.length, finished: finished.size, expected: expected.length } };
}

/** INVALID indexes, sequences behind their column, NOT VALID constraints. */
export async function checkInvariants(
  client: pg.Client,
): Promise<{ findings: Finding[]; evidence: Record<string, unknown> }> {
  const findings: Finding[] = [];
  const userRel =
    "n.nspname NOT IN ('pg_catalog', 'information_schema', 'shipgate_smoke') AND n.nspname NOT LIKE 'pg\\_%'";
  const invalid = await client.query<{ index: string; table: string }>(
    `SELECT c.relname AS index, t.relname AS table FROM pg_index x
       JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT x.indisvalid AND ${userRel}`,
  );
  for (const r of invalid.rows) {
    findings.push({
      code: 'invariants/invalid-index',
      verdict: 'UNSAFE',
      target: r.index,
      message: `Index ${ident(r.index)} on ${ident(r.table)} is INVALID (a failed CREATE INDEX CONCURRENTLY leaves it behind): queries ignore it, writes still maintain it.`,
    });
  }
  // Sequences owned by a column (serial, identity) or named in a column default.
  const seqs = await client.query<{
    seq: string;
    table: string;
    col: string;
    qtable: string;
    qcol: string;
    last: string | null;
    called: boolean;
  }>(
    // Names as the report shows relations (schema-qualified outside public), unquoted: the messages quote them once.
    `SELECT DISTINCT CASE WHEN sn.nspname = 'public' THEN sc.relname ELSE sn.nspname || '.' || sc.relname END AS seq,
            CASE WHEN n.nspname = 'public' THEN t.relname ELSE n.nspname || '.' || t.relname END AS table, a.attname AS col,
            format('%I.%I', n.nspname, t.relname) AS qtable, format('%I', a.attname) AS qcol,
            ps.last_value::text AS last, (ps.last_value IS NOT NULL) AS called
       FROM pg_sequence s
       JOIN pg_class sc ON sc.oid = s.seqrelid JOIN pg_namespace sn ON sn.oid = sc.relnamespace
       JOIN pg_depend d ON d.objid = s.seqrelid AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
       JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace n ON n.oid = t.relnamespace
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
       JOIN pg_sequences ps ON format('%I.%I', ps.schemaname, ps.sequencename)::regclass = s.seqrelid
      WHERE ${userRel} AND NOT a.attisdropped`,
  );
  const checked: Record<string, unknown>[] = [];
  for (const s of seqs.rows) {
    const max =
      (await client.query<{ max: string | null }>(`SELECT max(${s.qcol})::text AS max FROM ${s.qtable}`)).rows[0]
        ?.max ?? null;
    checked.push({ sequence: s.seq, column: `${s.table}.${s.col}`, lastValue: s.last, max });
    if (max === null) continue;
    // pg_sequences.last_value is NULL until the first nextval (is_called false): the next value is then start_value.
    const behind = s.last === null ? BigInt(max) >= 1n : BigInt(max) > BigInt(s.last);
    if (behind) {
      findings.push({
        code: 'invariants/sequence-behind',
        verdict: 'UNSAFE',
        target: s.seq,
        message: `Sequence ${ident(s.seq)} is at ${s.last ?? 'its start (never called)'} but ${ident(`${s.table}.${s.col}`)} holds ${max}: the next inserts fail with duplicate keys (23505).`,
        evidence: { lastValue: s.last, max, column: `${s.table}.${s.col}` },
      });
    }
  }
  const notValid = await client.query<{ name: string; table: string; def: string }>(
    `SELECT c.conname AS name, t.relname AS table, pg_get_constraintdef(c.oid) AS def
       FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE NOT c.convalidated AND ${userRel}`,
  );
  for (const r of notValid.rows) {
    findings.push({
      code: 'invariants/not-valid-constraint',
      verdict: 'WARN',
      target: `${r.table}.${r.name}`,
      message: `Constraint ${ident(r.name)} on ${ident(r.table)} is NOT VALID: existing rows are unchecked until VALIDATE CONSTRAINT runs.`,
      evidence: { definition: r.def },
    });
  }
  return {
    findings,
    evidence: {
      invalidIndexes: invalid.rows.length,
      sequences: checked,
      notValid: notValid.rows.map((r) => `${r.table}.${r.name}`),
    },
  };
}
