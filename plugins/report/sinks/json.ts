import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Sink } from './sink.ts';

/** `report.json`: the merged records, counts and exit code. */
export const jsonSink: Sink = {
  name: 'json',
  render(report, { outDir, counts, policy }) {
    const doc = { format: 'shipgate.report/v1', ...report, counts, policy };
    writeFileSync(path.join(outDir, 'report.json'), `${JSON.stringify(doc, null, 2)}\n`);
  },
};
