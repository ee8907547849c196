import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { ShipgateRecord } from '../model.ts';
import { fullName, keyNumbers } from '../summary.ts';
import type { Sink } from './sink.ts';

/**
 * `junit.xml` in the Jenkins/Surefire flavour (shared/schemas/junit-10.xsd), which CI servers
 * read. Budgets and migration checks are test cases too. Flaky tests pass with a
 * `<flakyFailure>`; inconclusive results fail with type "inconclusive".
 */

// XML 1.0 forbids most control characters even when escaped.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

export function xmlEscape(s: string): string {
  return s
    .replace(INVALID_XML, '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

const attr = (name: string, value: string | number | undefined) =>
  value === undefined ? '' : ` ${name}="${xmlEscape(String(value))}"`;

/** Seconds with at most 3 decimals, as SUREFIRE_TIME requires. */
const seconds = (ms: number) => (Math.max(0, ms) / 1000).toFixed(3);

function details(r: ShipgateRecord): string {
  const parts = [keyNumbers(r)];
  if (r.metrics) parts.push(`metrics: ${JSON.stringify(r.metrics)}`);
  if (r.evidence) parts.push(`evidence: ${JSON.stringify(r.evidence)}`);
  return parts.filter(Boolean).join('\n');
}

function testcase(r: ShipgateRecord): string {
  const open = `    <testcase${attr('name', fullName(r))}${attr('classname', r.file ?? r.kind)}${attr('time', seconds(r.durationMs))}${attr('group', r.kind)}>`;
  const body: string[] = [];
  const message = r.message?.split('\n')[0];
  if (r.status === 'failed') {
    body.push(
      `      <failure${attr('type', r.kind === 'test' || r.kind === 'e2e' ? 'failure' : `${r.kind} violation`)}${attr('message', message)}>${xmlEscape(r.stack ?? r.message ?? '')}</failure>`,
    );
  } else if (r.status === 'inconclusive') {
    body.push(
      `      <failure${attr('type', 'inconclusive')}${attr('message', message)}>${xmlEscape(r.message ?? '')}</failure>`,
    );
  } else if (r.regression) {
    body.push(
      `      <failure${attr('type', 'regression')}${attr('message', message ?? 'regression against the baseline')}>${xmlEscape(keyNumbers(r))}</failure>`,
    );
  } else if (r.status === 'skipped') {
    body.push(`      <skipped${attr('message', message)}/>`);
  } else if (r.status === 'flaky') {
    body.push(
      `      <flakyFailure${attr('type', 'flaky')}${attr('message', message ?? `passed after ${r.retries ?? 1} retr${(r.retries ?? 1) === 1 ? 'y' : 'ies'}`)}/>`,
    );
  }
  const out = details(r);
  if (out) body.push(`      <system-out>${xmlEscape(out)}</system-out>`);
  return body.length ? `${open}\n${body.join('\n')}\n    </testcase>` : `${open}</testcase>`;
}

export const junitSink: Sink = {
  name: 'junit',
  render(report, { outDir }) {
    const groups = new Map<string, ShipgateRecord[]>();
    for (const r of report.records) {
      const key = `${r.kind}: ${r.file ?? r.runner}`;
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    const fails = (rs: ShipgateRecord[]) =>
      rs.filter((r) => r.status === 'failed' || r.status === 'inconclusive' || (r.regression && r.status !== 'skipped'))
        .length;
    const suites = [...groups].map(([name, rs]) => {
      const time = seconds(rs.reduce((a, r) => a + r.durationMs, 0));
      const props = [
        report.commit && `      <property name="commit"${attr('value', report.commit)}/>`,
        report.schemaVersion && `      <property name="schemaVersion"${attr('value', report.schemaVersion)}/>`,
      ].filter(Boolean);
      return [
        `  <testsuite${attr('name', name)}${attr('tests', rs.length)}${attr('failures', fails(rs))}${attr('errors', 0)}${attr('skipped', rs.filter((r) => r.status === 'skipped').length)}${attr('time', time)}${attr('timestamp', report.startedAt)}${attr('hostname', hostname())}>`,
        props.length ? `    <properties>\n${props.join('\n')}\n    </properties>` : '',
        ...rs.map(testcase),
        '  </testsuite>',
      ]
        .filter(Boolean)
        .join('\n');
    });
    const total = report.records.length;
    const failures = fails(report.records);
    const xml = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      `<testsuites${attr('name', 'shipgate')}${attr('tests', total)}${attr('failures', failures)}${attr('errors', report.errors.length)}>`,
      ...suites,
      '</testsuites>',
      '',
    ].join('\n');
    writeFileSync(path.join(outDir, 'junit.xml'), xml);
  },
};
