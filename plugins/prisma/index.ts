/** Prisma without its engine download: `prisma generate` for the project's schema, and where that schema is. */
export { type PrismaGenerateOptions, type PrismaGenerateResult, prismaGenerate } from './generate.ts';
export { findPrismaSchema, PRISMA_CONFIG_FILES, type SchemaLocation } from './schema-location.ts';
