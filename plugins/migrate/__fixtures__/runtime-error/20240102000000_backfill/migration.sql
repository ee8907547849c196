-- Statement 1 works, statement 2 fails at run time (no error position), statement 3 never runs.
CREATE TABLE "AccountLog" ("id" SERIAL PRIMARY KEY, "accountId" INTEGER NOT NULL);

ALTER TABLE "Account"
  ALTER COLUMN "name" SET NOT NULL;

CREATE INDEX "AccountLog_accountId_idx" ON "AccountLog"("accountId");
