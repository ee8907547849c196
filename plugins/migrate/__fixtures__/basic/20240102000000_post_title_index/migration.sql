-- Alone in its file, so it runs outside a transaction, as CONCURRENTLY requires.
CREATE INDEX CONCURRENTLY "Post_title_idx" ON "Post"("title");
