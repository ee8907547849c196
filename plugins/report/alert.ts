import { describeError } from '../core/errors.ts';
import { envValue } from '../core/settings.ts';
import type { MergedReport } from './merge.ts';
import { type Counts, fullName, keyNumbers, worstFirst } from './summary.ts';

/**
 * Optional webhook alert on failure, as Slack-compatible JSON (`text` plus `blocks`), to
 * `SHIPGATE_WEBHOOK_URL`. `SHIPGATE_ALERT_ON=always` sends on success too. Never throws: a
 * failed delivery is returned as an error string for the reporter-error list.
 */
export function slackPayload(report: MergedReport, counts: Counts, reportUrl?: string) {
  const ok = counts.exitCode === 0;
  const title = `shipgate ${ok ? 'passed' : `failed (exit code ${counts.exitCode})`}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`;
  const worst = worstFirst(report.records)
    .filter((r) => r.status === 'failed' || r.status === 'inconclusive' || r.regression)
    .slice(0, 10)
    .map((r) => `• [${r.kind}] ${fullName(r)}${keyNumbers(r) ? ` — ${keyNumbers(r)}` : ''}`);
  const commit = report.commit ? ` · commit ${report.commit.slice(0, 12)}` : '';
  return {
    text: `${ok ? ':white_check_mark:' : ':x:'} ${title}${commit}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
      ...(worst.length ? [{ type: 'section', text: { type: 'mrkdwn', text: worst.join('\n').slice(0, 2900) } }] : []),
      ...(reportUrl ? [{ type: 'section', text: { type: 'mrkdwn', text: `<${reportUrl}|Full report>` } }] : []),
    ],
  };
}

export async function sendAlert(
  report: MergedReport,
  counts: Counts,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 5_000,
): Promise<{ sent: boolean; error?: string }> {
  const url = envValue('SHIPGATE_WEBHOOK_URL', env);
  if (!url) return { sent: false };
  if (counts.exitCode === 0 && envValue('SHIPGATE_ALERT_ON', env) !== 'always') return { sent: false };
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(slackPayload(report, counts, envValue('SHIPGATE_REPORT_URL', env))),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) return { sent: false, error: `webhook answered HTTP ${res.status} (SHIPGATE_WEBHOOK_URL)` };
    return { sent: true };
  } catch (err) {
    return { sent: false, error: `webhook failed: ${describeError(err)} (SHIPGATE_WEBHOOK_URL)` };
  }
}

/** The alert as a sink, so a failed delivery is recorded like any other reporter error. */
export const alertSink = {
  name: 'alert',
  async render(report: MergedReport, ctx: { counts: Counts; env: NodeJS.ProcessEnv }) {
    const result = await sendAlert(report, ctx.counts, ctx.env);
    if (result.error) throw new Error(result.error);
  },
};
