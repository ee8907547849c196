import { defineConfig } from 'prisma/config';

// Prisma 7 reads the connection URL from here, not from schema.prisma. process.env rather than
// env('DATABASE_URL'): env() throws when the variable is unset, and `prisma generate` (which
// needs no database) must keep working without it. Migrate commands fail with a clear
// "datasource.url" error of their own when it is missing.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL },
});
