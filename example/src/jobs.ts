import type { Job, PrismaClient } from './generated/prisma/client.ts';
import { Prisma } from './generated/prisma/client.ts';
import { HttpError, NotFoundError } from './http-error.ts';
import type { Log } from './trace.ts';
import { ValidationError } from './validate.ts';

type Priority = 'low' | 'normal' | 'high' | 'urgent';

/** How a one-touch triage run behaves. */
export interface JobRunnerOptions {
  /** Pause before each step, so a UI can show progress. Default 150 ms; env `JOB_STEP_MS`. */
  stepMs?: number;
  /** Receives one structured line per run event (started, done, failed). */
  log: Log;
}

/** A job with its progress, as the API and the UI show it. */
export type JobView = Job & { agent: { id: number; name: string }; percent: number };

/** What a triage step suggests for one ticket. */
export interface Triage {
  priority: Priority;
  body: string;
}

// First match wins; a ticket that matches nothing keeps its priority.
const RULES: readonly (readonly [Priority, RegExp])[] = [
  ['urgent', /\b(outage|is down|are down|breach|hacked|data loss|cannot access|can't access)\b/i],
  ['high', /\b(charged twice|double charge|refund|cannot log ?in|can't log ?in|locked out|crash(es|ed)?|error)\b/i],
  ['low', /\b(feature request|suggestion|dark mode|typo|how do i)\b/i],
];

/** Suggests a priority and drafts a reply for one ticket. Pure, so the same ticket always gets the same draft. */
export function triage(
  ticket: { title: string; body: string; priority: Priority },
  customer: string,
  agent: string,
): Triage {
  const text = `${ticket.title}\n${ticket.body}`;
  const priority = RULES.find(([, re]) => re.test(text))?.[0] ?? ticket.priority;
  const first = customer.split(/\s+/)[0] || customer;
  const when =
    priority === 'urgent' || priority === 'high'
      ? 'an agent is working on it now and will update you within the hour.'
      : 'we will get back to you within one business day.';
  return {
    priority,
    body: `Hi ${first}, thanks for reporting "${ticket.title}". We have set it to ${priority} priority and ${when} — ${agent}`,
  };
}

/** Lines of one run, all carrying the trace id of the request that started it. */
function runLog(log: Log, job: { id: number; traceId: string | null }) {
  return (level: 'info' | 'error', msg: string, fields: Record<string, unknown> = {}) =>
    log({ ts: new Date().toISOString(), level, msg, traceId: job.traceId ?? '', jobId: job.id, ...fields });
}

function gone(err: unknown): boolean {
  // P2025: the job row vanished (deleted, or the database was reset); P2003: its FK target did.
  return err instanceof Prisma.PrismaClientKnownRequestError && (err.code === 'P2025' || err.code === 'P2003');
}

/**
 * One-touch triage runs. `start` records a job and drafts a reply for each open ticket in the
 * background, one ticket per step; `send` turns a finished job's drafts into messages.
 */
export function createJobRunner(prisma: PrismaClient, options: JobRunnerOptions) {
  const stepMs = options.stepMs ?? (Number(process.env.JOB_STEP_MS) || 150);

  async function view(id: number): Promise<JobView> {
    const job = await prisma.job.findUnique({
      where: { id },
      include: { agent: { select: { id: true, name: true } } },
    });
    if (!job) throw new NotFoundError('Job', id);
    return { ...job, percent: job.total === 0 ? 100 : Math.floor((job.processed / job.total) * 100) };
  }

  /** Runs the steps of `job` over `ticketIds`; never throws (failures are recorded on the job). */
  async function run(job: Job, ticketIds: number[], agentName: string): Promise<void> {
    const line = runLog(options.log, job);
    const pause = () =>
      new Promise<void>((resolve) => {
        // unref: a pending step must not keep a test process or a stopping server alive.
        setTimeout(resolve, stepMs).unref();
      });
    try {
      await prisma.job.update({ where: { id: job.id }, data: { status: 'running', startedAt: new Date() } });
      for (const ticketId of ticketIds) {
        await pause();
        const ticket = await prisma.ticket.findUnique({
          where: { id: ticketId },
          include: { author: { select: { name: true } } },
        });
        const steps: Prisma.PrismaPromise<unknown>[] = [];
        // A ticket deleted since the run started is counted, not drafted.
        if (ticket) {
          const draft = triage(ticket, ticket.author.name, agentName);
          steps.push(prisma.jobDraft.create({ data: { jobId: job.id, ticketId, ...draft } }));
        }
        steps.push(prisma.job.update({ where: { id: job.id }, data: { processed: { increment: 1 } } }));
        await prisma.$transaction(steps);
      }
      await prisma.job.update({ where: { id: job.id }, data: { status: 'done', finishedAt: new Date() } });
      line('info', 'job.done', { total: ticketIds.length });
    } catch (err) {
      if (gone(err)) {
        line('info', 'job.abandoned', { reason: 'the job or its agent no longer exists' });
        return;
      }
      const message = err instanceof Error ? err.message.split('\n').filter(Boolean).at(-1) : String(err);
      line('error', 'job.failed', { error: { message, stack: err instanceof Error ? err.stack : undefined } });
      await prisma.job
        .update({ where: { id: job.id }, data: { status: 'failed', error: message, finishedAt: new Date() } })
        .catch(() => undefined);
    }
  }

  return {
    stepMs,
    view,

    /** Starts a triage run for `agentId` over the open tickets; returns at once with the queued job. */
    async start(agentId: number, traceId: string): Promise<JobView> {
      const agent = await prisma.user.findUnique({ where: { id: agentId }, select: { name: true, role: true } });
      if (!agent)
        throw new ValidationError(`Invalid request body: agentId ${agentId} does not exist`, {
          agentId: 'does not exist',
        });
      if (agent.role === 'customer') {
        throw new ValidationError(`Invalid request body: user ${agentId} is a customer, not an agent`, {
          agentId: 'must be an agent or an admin',
        });
      }
      const open = await prisma.ticket.findMany({
        where: { status: 'open' },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        select: { id: true },
        take: 500,
      });
      const job = await prisma.job.create({ data: { agentId, total: open.length, traceId } });
      runLog(options.log, job)('info', 'job.started', { total: open.length, stepMs });
      void run(
        job,
        open.map((t) => t.id),
        agent.name,
      );
      return view(job.id);
    },

    /** Sends a finished job's drafts as messages from its agent and applies the suggested priorities. */
    async send(id: number): Promise<{ sent: number; job: JobView }> {
      const sent = await prisma.$transaction(async (tx) => {
        // Claim the job first: a second send (double click, two tabs) finds it no longer `done`.
        const claimed = await tx.job.updateMany({
          where: { id, status: 'done' },
          data: { status: 'sent', sentAt: new Date() },
        });
        if (claimed.count === 0) {
          const job = await tx.job.findUnique({ where: { id }, select: { status: true } });
          if (!job) throw new NotFoundError('Job', id);
          throw new HttpError(409, 'conflict', `Job ${id} is ${job.status}; only a done job can be sent`);
        }
        const job = await tx.job.findUniqueOrThrow({ where: { id }, select: { agentId: true } });
        const drafts = await tx.jobDraft.findMany({ where: { jobId: id, messageId: null }, orderBy: { id: 'asc' } });
        for (const draft of drafts) {
          const message = await tx.message.create({
            data: { ticketId: draft.ticketId, authorId: job.agentId, body: draft.body },
            select: { id: true },
          });
          await tx.jobDraft.update({ where: { id: draft.id }, data: { messageId: message.id } });
          await tx.ticket.update({
            where: { id: draft.ticketId },
            data: { priority: draft.priority, status: 'pending', updatedAt: new Date() },
          });
        }
        return drafts.length;
      });
      return { sent, job: await view(id) };
    },
  };
}

/** The runner `createJobRunner` returns. */
export type JobRunner = ReturnType<typeof createJobRunner>;
