/**
 * shipgate's Playwright engine, framework-free: the browser choice, the app server per worker
 * (a process or an in-process factory), its log, and the worker's clone. `@playwright/test` is
 * imported only by `global-setup.ts` and `fixtures/playwright.ts`.
 */

export { type AppFactoryDeps, startAppInProcess } from './app-in-process.ts';
export { commandArgv, compileCacheEnv, startAppProcess } from './app-process.ts';
export {
  type AppCommandConfig,
  type AppConfig,
  type AppContext,
  type AppFactoryConfig,
  AppServerError,
  appConfigProblems,
  type StartedApp,
} from './app-server.ts';
export {
  BrowserNotFoundError,
  CHROMIUM_ENV,
  type ChromiumChoice,
  type ChromiumLaunchOptions,
  chooseChromium,
  SYSTEM_CHROMIUM_FLAGS,
  SYSTEM_CHROMIUM_PATHS,
} from './browser.ts';
export { configRoot } from './global-setup.ts';
export { playwrightOptionProblems, type ResetMode, type ShipgatePlaywrightOptions } from './options.ts';
export { isFailure, type LogEntry, ServerLog, traceIdOf } from './server-log.ts';
export {
  RUNTIME_ENV,
  runtimeFromEnv,
  type ShipgateWorker,
  startApp,
  startWorker,
  type WorkerOptions,
  type WorkerRecord,
  type WorkerTimings,
} from './worker.ts';
