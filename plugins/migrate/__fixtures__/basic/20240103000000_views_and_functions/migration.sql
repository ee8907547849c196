CREATE VIEW "AuthorPostCount" AS
SELECT u."id", count(p."id") AS "posts" FROM "User" u LEFT JOIN "Post" p ON p."authorId" = u."id" GROUP BY u."id";

CREATE FUNCTION "touch_title"() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  NEW."title" := trim(NEW."title"); -- a ; inside a dollar-quoted body
  RETURN NEW;
END;
$body$;

CREATE TRIGGER "Post_touch_title" BEFORE INSERT OR UPDATE ON "Post" FOR EACH ROW EXECUTE FUNCTION "touch_title"();

-- SQL-standard body: the semicolons between BEGIN ATOMIC and END belong to the function.
CREATE FUNCTION "post_count"(author INTEGER) RETURNS BIGINT LANGUAGE sql
BEGIN ATOMIC
  SELECT count(*) FROM "Post" WHERE "authorId" = author;
END;
