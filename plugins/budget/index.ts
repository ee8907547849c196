/**
 * shipgate performance budgets: SLOs as code, an in-process load generator that records every
 * request at µs precision from its scheduled send time, noise-aware regression verdicts, and a
 * baseline store. Framework-free; the Vitest adapter is `plugins/vitest/budget.ts`.
 */
export {
  analyze,
  histogramPercentileUs,
  type Measurement,
  percentileSorted,
  type RoundMetrics,
  type SlowRequest,
} from './analyze.ts';
export {
  BASELINE_FORMAT,
  type BaselineEntry,
  type BaselineFile,
  baselineDir,
  pickBaseline,
  readBaseline,
} from './baseline.ts';
export { type Duration, formatMs, k6Duration, toMs } from './duration.ts';
export { BudgetError, SloError } from './errors.ts';
export { type HostSample, RUN_QUEUE_SAMPLE_MS } from './host-load.ts';
export { loadSlos, selectSlos } from './loader.ts';
export { type BudgetResult, type MeasureOptions, measureSlo } from './measure.ts';
export {
  PROFILE_SCALES,
  profileFromEnv,
  type RunPlan,
  requiredSamples,
  resolveRun,
  scaleLoad,
  TAIL_SAMPLES,
} from './profiles.ts';
export { compareRounds, DEFAULT_THRESHOLDS, type RegressionReport, type RegressionThresholds } from './regression.ts';
export { describeLoad, explain, headline, type RecordContext, toRecord } from './render.ts';
export { buildRequests, statusOk } from './requests.ts';
export { arrivalTimesUs } from './schedule.ts';
export { addServerHistogram, routeOf, withServerHistogram } from './server-histogram.ts';
export {
  type Budgets,
  defineSlo,
  type Endpoint,
  isSlo,
  type LoadProfile,
  PROFILE_NAMES,
  type ProfileName,
  type Slo,
  type SloDefinition,
} from './slo.ts';
export { startTarget, type Target } from './target.ts';
export {
  type BudgetCheck,
  GENERATOR_LIMITS,
  generatorProblems,
  HOST_LIMITS,
  hostStarvation,
  judge,
  type Verdict,
} from './verdict.ts';
