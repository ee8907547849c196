-- AlterTable
-- Edited by hand: Prisma cannot express generated columns (schema.prisma models this column as
-- Unsupported("tsvector") with an empty dbgenerated(), which migrate leaves alone). Title words
-- weigh more (A) than body words (B) in ts_rank.
ALTER TABLE "tickets" ADD COLUMN     "search" tsvector GENERATED ALWAYS AS (setweight(to_tsvector('english', "title"), 'A') || setweight(to_tsvector('english', "body"), 'B')) STORED;

-- CreateTable
CREATE TABLE "messages" (
    "id" SERIAL NOT NULL,
    "ticketId" INTEGER NOT NULL,
    "authorId" INTEGER NOT NULL,
    "body" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- Edited by hand: generated column, see above.
    "search" tsvector GENERATED ALWAYS AS (to_tsvector('english', "body")) STORED,

    CONSTRAINT "messages_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "messages_ticketId_createdAt_id_idx" ON "messages"("ticketId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "messages_authorId_idx" ON "messages"("authorId");

-- CreateIndex
CREATE INDEX "messages_search_idx" ON "messages" USING GIN ("search");

-- CreateIndex
CREATE INDEX "tickets_search_idx" ON "tickets" USING GIN ("search");

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_ticketId_fkey" FOREIGN KEY ("ticketId") REFERENCES "tickets"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
