CREATE TABLE "Note" (
  "id" SERIAL PRIMARY KEY,
  "title" TEXT NOT NULL,
  "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO "Note" ("title") VALUES ('from the migration');
