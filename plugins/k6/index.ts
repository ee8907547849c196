/**
 * k6 from the same SLOs: script generation, a runner (`K6_BIN` or PATH, always
 * `--no-usage-report`, exit 99 = SLO violation), parsers for both summary shapes into the
 * in-process result model, and k6-operator TestRun manifests for distributed runs.
 */
export { k8sName, type TestRunOptions, testRunManifest } from './operator.ts';
export { findK6, K6_EXIT_CODES, type K6Binary, type K6Run, k6ExitMeaning, runK6 } from './runner.ts';
export {
  execName,
  generateK6Script,
  K6_REQUEST_POOL,
  type K6Plan,
  k6Plan,
  SUMMARY_TREND_STATS,
  scenarioFor,
  thresholdsFor,
} from './script.ts';
export {
  type K6Metric,
  type K6Summary,
  k6Results,
  parseK6Summary,
  parseThreshold,
  type SummaryShape,
  sloIdsIn,
  splitMetricName,
} from './summary.ts';
