import supertest from 'supertest';
import { type MetricFamily, parsePrometheusText } from '../../plugins/metrics/prometheus.ts';
import { createApp } from '../src/app.ts';
import type { PrismaClient } from '../src/db.ts';
import type { Dependencies, ResilienceOptions } from '../src/dependencies.ts';

/** Short timeouts and cool-downs, so fault tests take a second, not a minute. */
export const FAST: ResilienceOptions = {
  db: { timeoutMs: 2_000, baseDelayMs: 20, breakerThreshold: 3, breakerCooldownMs: 500 },
  upstream: { timeoutMs: 2_000, baseDelayMs: 50, attempts: 3, breakerThreshold: 3, breakerCooldownMs: 1_000 },
};

/** The example app wired for a fault test: captured log lines, a supertest client, its dependencies and metrics. */
export function chaosApp(
  prisma: unknown,
  options: { upstreamUrl?: string; resilience?: ResilienceOptions } = {},
): {
  app: ReturnType<typeof createApp>;
  http: ReturnType<typeof supertest>;
  logs: Record<string, unknown>[];
  deps: Dependencies;
  metrics(): Promise<Map<string, MetricFamily>>;
  /** Sum of the samples named `name` (e.g. `x_total`, `h_count`) whose labels include `labels`. */
  counter(name: string, labels: Record<string, string>): Promise<number>;
} {
  const logs: Record<string, unknown>[] = [];
  const r = options.resilience ?? {};
  const app = createApp({
    prisma: prisma as PrismaClient,
    log: (line) => logs.push(line as Record<string, unknown>),
    upstreamUrl: options.upstreamUrl,
    resilience: {
      db: { ...FAST.db, ...r.db },
      upstream: { ...FAST.upstream, ...r.upstream },
      idempotencyTimeoutMs: r.idempotencyTimeoutMs,
    },
  });
  const deps = app.locals.dependencies as Dependencies;
  const metrics = async () => parsePrometheusText(await deps.metrics.registry.metrics());
  return {
    app,
    http: supertest(app),
    logs,
    deps,
    metrics,
    async counter(name, labels) {
      return [...(await metrics()).values()]
        .flatMap((f) => f.samples)
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((a, s) => a + s.value, 0);
    },
  };
}
