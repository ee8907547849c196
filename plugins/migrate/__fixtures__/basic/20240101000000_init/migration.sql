-- CreateEnum
CREATE TYPE "Role" AS ENUM ('reader', 'author');

-- CreateTable; the semicolons in this comment; and in the strings below; must not split anything
CREATE TABLE "User" (
    "id" SERIAL NOT NULL,
    "email" TEXT NOT NULL,
    "role" "Role" NOT NULL DEFAULT 'reader',
    "motto" TEXT NOT NULL DEFAULT E'it\'s; fine',
    "quoted;name" TEXT,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

/* CreateTable /* nested; comment */ still a comment; */
CREATE TABLE "Post" (
    "id" SERIAL NOT NULL,
    "title" VARCHAR(200) NOT NULL,
    "authorId" INTEGER NOT NULL,
    CONSTRAINT "Post_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");

-- AddForeignKey
ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
