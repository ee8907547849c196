-- CreateEnum
CREATE TYPE "JobStatus" AS ENUM ('queued', 'running', 'done', 'failed', 'sent');

-- CreateTable
CREATE TABLE "jobs" (
    "id" SERIAL NOT NULL,
    "kind" VARCHAR(32) NOT NULL DEFAULT 'triage',
    "status" "JobStatus" NOT NULL DEFAULT 'queued',
    "agentId" INTEGER NOT NULL,
    "total" INTEGER NOT NULL DEFAULT 0,
    "processed" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "traceId" VARCHAR(128),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "sentAt" TIMESTAMP(3),

    CONSTRAINT "jobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job_drafts" (
    "id" SERIAL NOT NULL,
    "jobId" INTEGER NOT NULL,
    "ticketId" INTEGER NOT NULL,
    "priority" "TicketPriority" NOT NULL,
    "body" TEXT NOT NULL,
    "messageId" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "job_drafts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "jobs_createdAt_id_idx" ON "jobs"("createdAt", "id");

-- CreateIndex
CREATE INDEX "jobs_agentId_idx" ON "jobs"("agentId");

-- CreateIndex
CREATE UNIQUE INDEX "job_drafts_messageId_key" ON "job_drafts"("messageId");

-- CreateIndex
CREATE INDEX "job_drafts_ticketId_idx" ON "job_drafts"("ticketId");

-- CreateIndex
CREATE UNIQUE INDEX "job_drafts_jobId_ticketId_key" ON "job_drafts"("jobId", "ticketId");

-- AddForeignKey
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_agentId_fkey" FOREIGN KEY ("agentId") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_drafts" ADD CONSTRAINT "job_drafts_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_drafts" ADD CONSTRAINT "job_drafts_ticketId_fkey" FOREIGN KEY ("ticketId") REFERENCES "tickets"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_drafts" ADD CONSTRAINT "job_drafts_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "messages"("id") ON DELETE SET NULL ON UPDATE CASCADE;
