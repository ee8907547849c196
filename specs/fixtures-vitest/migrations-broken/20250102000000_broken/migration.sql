-- AlterTable
ALTER TABLE "accounts" ADD COLUMN "plan" TEXT;

-- A runtime error in the second statement: the column does not exist.
UPDATE "accounts" SET "tier" = 'free';

-- CreateIndex
CREATE INDEX "accounts_plan_idx" ON "accounts"("plan");
