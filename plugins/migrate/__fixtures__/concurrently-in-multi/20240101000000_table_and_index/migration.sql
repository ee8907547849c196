CREATE TABLE "Item" ("id" SERIAL PRIMARY KEY, "sku" TEXT NOT NULL);

-- Not alone in its file: Postgres runs the file as one implicit transaction and refuses this.
CREATE INDEX CONCURRENTLY "Item_sku_idx" ON "Item"("sku");
