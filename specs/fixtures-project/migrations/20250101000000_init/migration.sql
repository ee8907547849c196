CREATE TABLE "Item" ("id" SERIAL PRIMARY KEY, "name" TEXT NOT NULL);
INSERT INTO "Item" ("name") VALUES ('seeded by the migration');
