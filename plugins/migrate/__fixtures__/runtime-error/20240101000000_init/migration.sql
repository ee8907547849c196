CREATE TABLE "Account" ("id" SERIAL PRIMARY KEY, "name" TEXT);
INSERT INTO "Account" ("name") VALUES ('ada'), (NULL);
