const { PrismaClient } = require('@prisma/client');
const { PrismaPg } = require('@prisma/adapter-pg');

/** A Prisma client on `url`, or on `pool` when one is given (the client never ends a pool it was given). */
function createPrisma(url, { pool } = {}) {
  return new PrismaClient({ adapter: new PrismaPg(pool ?? { connectionString: url }) });
}

module.exports = { createPrisma };
