CREATE TABLE "Tag" ("id" SERIAL PRIMARY KEY, "label" TEXT NOT NULL);

CREATE UNIQUE INDEX "Tag_label_key" ON "Tag"("label");

-- The typo below is a syntax error, so Postgres runs none of this file.
CREATE TABLE "TagOnPost" (
    "tagId" INTEGER NOT NULL,
    "postId" INTEGER NOT NULL
    PRIMARY KEY ("tagId", "postId")
);
