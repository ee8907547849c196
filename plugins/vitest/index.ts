/**
 * The Vitest adapter's public modules: the plugin, its globalSetup (whose module augmentation
 * types `inject('shipgate')`), the reporters and the budget matcher.
 */
export { default as budgetReporter } from './budget-reporter.ts';
export { default as globalSetup } from './global-setup.ts';
export {
  type Isolation,
  type MigratorConfig,
  OPTIONS_KEY,
  type ShipgateOptions,
  type ShipgateVitestOptions,
  shipgate,
} from './plugin.ts';
export {
  linkResponse,
  type QueriesTaskMeta,
  type QueryScaling,
  queriesOf,
  type RequestQueriesSummary,
  scalingOf,
  summarise,
} from './queries.ts';
export { default as reporter } from './reporter.ts';
