import type { MergedReport } from '../merge.ts';
import type { ExitPolicy } from '../model.ts';
import type { Counts } from '../summary.ts';

/** What every sink gets. */
export interface SinkContext {
  /** Where files go (the report directory by default). */
  outDir: string;
  policy: ExitPolicy;
  counts: Counts;
  env: NodeJS.ProcessEnv;
  /** Console output (stdout by default). */
  write: (text: string) => void;
}

/** A report sink: one file each in this folder. `render` may write files and/or print. */
export interface Sink {
  readonly name: string;
  render(report: MergedReport, ctx: SinkContext): Promise<void> | void;
}
