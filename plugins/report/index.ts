/** The unified reporter: one record model, merged from every runner, rendered by sinks. */
export { alertSink, sendAlert, slackPayload } from './alert.ts';
export { announceKept } from './kept.ts';
export { type MergedReport, mergeReports, ReportInputError } from './merge.ts';
export {
  DEFAULT_POLICY,
  type ExitPolicy,
  ExitPolicyError,
  exitCodeFor,
  parsePolicy,
  type RecordFile,
  type RecordKind,
  type RecordStatus,
  type ShipgateRecord,
} from './model.ts';
export { currentCommit, recordId, reportDir, writeRecords } from './records.ts';
export { DEFAULT_SINKS, renderReport, resolveSinks, SINKS, type Sink } from './sinks/index.ts';
export { type Counts, countRecords, summaryLine } from './summary.ts';
