import { ShipgateError } from '../core/errors.ts';

/** A metrics scrape or its content could not be used: unreachable endpoint, malformed text, missing or reset histogram. */
export class MetricsError extends ShipgateError {}

/** One sample line: `name{labels} value [timestamp]`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** Milliseconds since the epoch, when the line carried one. */
  timestampMs?: number;
}

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

/** A metric family: `# HELP`/`# TYPE` and its samples (for a histogram: `_bucket`, `_sum`, `_count`). */
export interface MetricFamily {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Record<MetricType, readonly string[]> = {
  histogram: ['_bucket', '_sum', '_count', '_created'],
  summary: ['_sum', '_count', '_created'],
  counter: ['_total', '_created'],
  gauge: [],
  untyped: [],
};

/**
 * Parses a Go/Prometheus float: decimal or exponent notation, `+Inf`/`-Inf`/`Inf` and `NaN`
 * (case-insensitive, as Go's strconv.ParseFloat accepts). Returns undefined for anything else.
 */
export function parseValue(text: string): number | undefined {
  const t = text.toLowerCase();
  if (t === 'nan') return Number.NaN;
  if (t === '+inf' || t === 'inf' || t === '+infinity' || t === 'infinity') return Number.POSITIVE_INFINITY;
  if (t === '-inf' || t === '-infinity') return Number.NEGATIVE_INFINITY;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

/** HELP text escapes only `\\` and `\n`. */
function unescapeHelp(s: string): string {
  return s.replace(/\\([\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/**
 * Parses the Prometheus text exposition format (version 0.0.4, what prom-client and most
 * exporters serve): `# HELP` and `# TYPE` lines, samples with escaped label values (`\\`, `\"`,
 * `\n`), special values, optional timestamps. Samples are grouped into their family (a
 * histogram's `_bucket`/`_sum`/`_count` under the histogram's name); samples without a `# TYPE`
 * form `untyped` families of their own. Throws a MetricsError naming the line for malformed input.
 */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const family = (name: string): MetricFamily => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: 'untyped', help: '', samples: [] };
      families.set(name, f);
    }
    return f;
  };
  const owner = (sample: string): MetricFamily => {
    const exact = families.get(sample);
    if (exact) return exact;
    for (const suffix of ['_bucket', '_sum', '_count', '_total', '_created']) {
      if (!sample.endsWith(suffix)) continue;
      const base = families.get(sample.slice(0, -suffix.length));
      if (base && SUFFIXES[base.type].includes(suffix)) return base;
    }
    return family(sample);
  };

  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, '');
    const fail = (what: string): never => {
      throw new MetricsError(
        'SHIPGATE_METRICS_PARSE',
        `Prometheus text line ${i + 1}: ${what} in ${JSON.stringify(line.length > 120 ? `${line.slice(0, 120)}…` : line)}.`,
        { hint: 'The endpoint must serve the text exposition format (Content-Type text/plain; version=0.0.4).' },
      );
    };
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(trimmed);
      if (!m) continue; // other comments are allowed and ignored
      const [, keyword, name = '', rest = ''] = m;
      if (!NAME.test(name) || NAME.exec(name)?.[0] !== name) fail(`invalid metric name "${name}"`);
      if (keyword === 'HELP') family(name).help = unescapeHelp(rest);
      else {
        const type = rest.trim() as MetricType;
        if (!TYPES.has(type)) fail(`unknown metric type "${rest.trim()}"`);
        const f = family(name);
        if (f.samples.length > 0 && f.type !== type) fail(`# TYPE for "${name}" after its samples`);
        f.type = type;
      }
      continue;
    }

    let pos = 0;
    const skipBlanks = () => {
      while (line[pos] === ' ' || line[pos] === '\t') pos++;
    };
    skipBlanks();
    const name = NAME.exec(line.slice(pos))?.[0];
    if (!name) fail('expected a metric name');
    pos += (name as string).length;
    const labels: Record<string, string> = {};
    skipBlanks();
    if (line[pos] === '{') {
      pos++;
      for (;;) {
        skipBlanks();
        if (line[pos] === '}') {
          pos++;
          break;
        }
        const label = LABEL_NAME.exec(line.slice(pos))?.[0];
        if (!label) fail('expected a label name or "}"');
        pos += (label as string).length;
        skipBlanks();
        if (line[pos] !== '=') fail(`expected "=" after label "${label}"`);
        pos++;
        skipBlanks();
        if (line[pos] !== '"') fail(`expected a quoted value for label "${label}"`);
        pos++;
        let value = '';
        for (;;) {
          const c = line[pos];
          if (c === undefined) fail(`unterminated value of label "${label}"`);
          if (c === '\\') {
            const next = line[pos + 1];
            if (next !== '\\' && next !== '"' && next !== 'n')
              fail(`invalid escape "\\${next ?? ''}" in label "${label}"`);
            value += next === 'n' ? '\n' : next;
            pos += 2;
            continue;
          }
          pos++;
          if (c === '"') break;
          value += c;
        }
        if (Object.hasOwn(labels, label as string)) fail(`duplicate label "${label}"`);
        labels[label as string] = value;
        skipBlanks();
        if (line[pos] === ',') pos++;
        else if (line[pos] !== '}') fail('expected "," or "}" after a label value');
      }
    }
    const rest = line
      .slice(pos)
      .trim()
      .split(/[ \t]+/);
    if (rest.length < 1 || rest[0] === '' || rest.length > 2) fail('expected "value [timestamp]" after the metric');
    const value = parseValue(rest[0] as string);
    if (value === undefined) fail(`invalid value "${rest[0]}"`);
    const sample: Sample = { name: name as string, labels, value: value as number };
    if (rest[1] !== undefined) {
      if (!/^-?\d+$/.test(rest[1])) fail(`invalid timestamp "${rest[1]}"`);
      sample.timestampMs = Number(rest[1]);
    }
    owner(sample.name).samples.push(sample);
  }
  return families;
}
