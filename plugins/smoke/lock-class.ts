/**
 * What a statement does under its table lock, read from the migration's SQL. The class decides
 * how a measured hold is judged (lock-check.ts): a metadata-only change takes the same time at
 * any size, so its measured hold is the judgement; a scan under the lock (a CHECK or foreign key
 * validated in place, SET NOT NULL), an index build, or a rewrite grows with the table, so its
 * hold is extrapolated to the production size.
 *
 * The watcher's measurement outranks the text: a relation whose relfilenode changed was
 * rewritten, an index it saw created was built. The text adds what leaves no trace in the
 * catalogs: a validation scan.
 */

/** How a statement's lock grows with the table, weakest first. */
export type LockClass = 'metadata' | 'scan' | 'build' | 'rewrite';

const ORDER: readonly LockClass[] = ['metadata', 'scan', 'build', 'rewrite'];

/** The stronger of two classes. */
export const worse = (a: LockClass, b: LockClass): LockClass => (ORDER.indexOf(a) >= ORDER.indexOf(b) ? a : b);

/** One table's class in one file: what made it so, and the table whose rows drive the time. */
export interface TableClass {
  cls: LockClass;
  /** What the statement does, e.g. `validates CHECK "x" by a scan`. */
  what: string;
  /** The table whose size the time grows with (a foreign key's validation scans the referencing table). */
  scaledBy: string;
}

/** Splits SQL into statements, skipping comments and keeping quoted and dollar-quoted text whole. */
export function statements(sql: string): string[] {
  const out: string[] = [];
  let cur = '';
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i] as string;
    const two = sql.slice(i, i + 2);
    if (two === '--') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl;
      cur += ' ';
    } else if (two === '/*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
      cur += ' ';
    } else if (ch === "'" || ch === '"') {
      let j = i + 1;
      while (j < sql.length && !(sql[j] === ch && sql[j + 1] !== ch)) j += sql[j] === ch ? 2 : 1;
      cur += sql.slice(i, j + 1);
      i = j + 1;
    } else if (ch === '$') {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i))?.[0];
      const end = tag ? sql.indexOf(tag, i + tag.length) : -1;
      if (!tag || end < 0) {
        cur += ch;
        i += 1;
      } else {
        cur += sql.slice(i, end + tag.length);
        i = end + tag.length;
      }
    } else if (ch === ';') {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
      i += 1;
    } else {
      cur += ch;
      i += 1;
    }
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const QNAME = String.raw`${IDENT}(?:\s*\.\s*${IDENT})?`;

/** `"a"."B"` or `a.b` → its parts, unquoted (unquoted parts folded to lower case, as Postgres does). */
export function nameParts(qname: string): string[] {
  return [...qname.matchAll(new RegExp(IDENT, 'g'))].map(([p]) =>
    p.startsWith('"') ? p.slice(1, -1).replace(/""/g, '"') : p.toLowerCase(),
  );
}

/** How the report names a relation: `name` in `public`, else `schema.name`. */
export const label = (qname: string) => {
  const parts = nameParts(qname);
  return parts.length === 2 && parts[0] !== 'public' ? parts.join('.') : (parts.at(-1) ?? qname);
};

/** Quoted form of a relation name (for to_regclass and messages). */
export const quoted = (qname: string) =>
  nameParts(qname)
    .map((p) => `"${p.replace(/"/g, '""')}"`)
    .join('.');

/** Top-level comma-separated parts of an ALTER TABLE's actions. */
function actions(rest: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (let i = 0; i < rest.length; i++) {
    const ch = rest[i] as string;
    if (ch === "'" || ch === '"') {
      const j = rest.indexOf(ch, i + 1);
      const end = j < 0 ? rest.length : j;
      cur += rest.slice(i, end + 1);
      i = end;
      continue;
    }
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/**
 * The class of each table a file's statements lock, by table label. Only what the text shows:
 * validation scans, index builds and the rewrites that are certain (VACUUM FULL, CLUSTER); the
 * caller merges the watcher's measured rewrites and builds.
 */
export function classifySql(sql: string): Map<string, TableClass> {
  const out = new Map<string, TableClass>();
  const put = (table: string, cls: LockClass, what: string, scaledBy = table) => {
    const cur = out.get(table);
    if (!cur || worse(cur.cls, cls) !== cur.cls) out.set(table, { cls, what, scaledBy });
  };
  for (const stmt of statements(sql)) {
    const s = stmt.replace(/\s+/g, ' ');
    const index = new RegExp(
      String.raw`^CREATE (UNIQUE )?INDEX (CONCURRENTLY )?(?:IF NOT EXISTS )?(?:(${QNAME}) )?ON (?:ONLY )?(${QNAME})`,
      'i',
    ).exec(s);
    if (index) {
      const t = label(index[4] as string);
      put(t, 'build', `builds index${index[3] ? ` "${label(index[3])}"` : ''}${index[2] ? ' concurrently' : ''}`);
      continue;
    }
    const full = new RegExp(String.raw`^(VACUUM \(?FULL\b.*?|CLUSTER )(${QNAME})`, 'i').exec(s);
    if (full) {
      put(label(full[2] as string), 'rewrite', `rewrites the table (${full[1]?.trim().split(' ')[0]?.toUpperCase()})`);
      continue;
    }
    const alter = new RegExp(String.raw`^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?(${QNAME})\s*(.*)$`, 'i').exec(s);
    if (!alter) continue;
    const table = label(alter[1] as string);
    for (const action of actions(alter[2] ?? '')) {
      const notValid = /\bNOT VALID\s*$/i.test(action);
      const constraint = new RegExp(
        String.raw`^ADD (?:CONSTRAINT (${IDENT}) )?(CHECK|FOREIGN KEY|PRIMARY KEY|UNIQUE|EXCLUDE)\b`,
        'i',
      ).exec(action);
      const name = constraint?.[1] ? ` "${label(constraint[1])}"` : '';
      const kind = constraint?.[2]?.toUpperCase();
      if (kind === 'CHECK' && !notValid) put(table, 'scan', `validates CHECK${name} by a scan under the lock`);
      else if (kind === 'FOREIGN KEY' && !notValid) {
        const ref = new RegExp(String.raw`REFERENCES (${QNAME})`, 'i').exec(action)?.[1];
        put(table, 'scan', `validates FOREIGN KEY${name} by a scan under the lock`);
        // The referenced table is locked (SHARE ROW EXCLUSIVE) while the referencing one is scanned.
        if (ref && label(ref) !== table)
          put(label(ref), 'scan', `is referenced by FOREIGN KEY${name}, validated by a scan of "${table}"`, table);
      } else if (
        (kind === 'PRIMARY KEY' || kind === 'UNIQUE' || kind === 'EXCLUDE') &&
        !/\bUSING INDEX\b/i.test(action)
      )
        put(table, 'build', `builds the index of ${kind}${name}`);
      else if (/^ALTER (?:COLUMN )?\S+ SET NOT NULL/i.test(action))
        put(table, 'scan', 'checks SET NOT NULL by a scan under the lock');
    }
  }
  return out;
}

/**
 * Relation names a file locks that may name no table: indexes (`DROP INDEX`, `ALTER INDEX`,
 * `REINDEX INDEX`) and the tables of `CREATE INDEX … ON`, `ALTER TABLE`, `CLUSTER`. The watcher
 * resolves them on the server (an index to its table), so their locks are captured.
 */
export function relationsNamedIn(sql: string): string[] {
  const names = new Set<string>();
  for (const stmt of statements(sql)) {
    const s = stmt.replace(/\s+/g, ' ');
    const drop = /^DROP INDEX (?:CONCURRENTLY )?(?:IF EXISTS )?(.*?)(?: CASCADE| RESTRICT)?$/i.exec(s);
    if (drop) for (const n of (drop[1] ?? '').split(',')) names.add(quoted(n.trim()));
    const patterns = [
      String.raw`^ALTER INDEX (?:IF EXISTS )?(${QNAME})`,
      String.raw`^REINDEX (?:\([^)]*\) )?(?:INDEX|TABLE) (?:CONCURRENTLY )?(${QNAME})`,
      String.raw`^CREATE (?:UNIQUE )?INDEX .*?\bON (?:ONLY )?(${QNAME})`,
      String.raw`^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?(${QNAME})`,
      String.raw`^CLUSTER (${QNAME})`,
    ];
    for (const p of patterns) {
      const m = new RegExp(p, 'i').exec(s);
      if (m?.[1]) names.add(quoted(m[1]));
    }
  }
  return [...names].filter((n) => n !== '""');
}
