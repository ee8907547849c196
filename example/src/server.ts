import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { createPrisma } from './db.ts';

// `node example/src/server.ts`: DATABASE_URL (required), PORT (default 3000; 0 picks a free
// port), HOST (default 127.0.0.1). Prints `{"event":"listening","port":N}` once ready, so a
// test harness can read the port from stdout.

const SHUTDOWN_GRACE_MS = 10_000;

function fail(message: string): never {
  process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), level: 'error', msg: message })}\n`);
  process.exit(1);
}

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) fail('DATABASE_URL is not set (e.g. postgres://user:pass@127.0.0.1:5432/app)');
const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65_535) fail(`PORT is "${process.env.PORT}", expected 0..65535`);
const host = process.env.HOST ?? '127.0.0.1';

const prisma = createPrisma(databaseUrl);
const server = createApp({ prisma }).listen(port, host);
server.on('error', (err) => fail(`cannot listen on ${host}:${port}: ${err.message}`));
server.on('listening', () => {
  process.stdout.write(`${JSON.stringify({ event: 'listening', port: (server.address() as AddressInfo).port })}\n`);
});

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  // A second signal while draining means "now": skip the grace period.
  if (stopping) process.exit(1);
  stopping = true;
  process.stdout.write(`${JSON.stringify({ event: 'shutdown', signal })}\n`);
  // close() stops accepting and resolves once in-flight requests finish; idle keep-alive
  // sockets would hold it open, so close those now and force the rest after the grace period.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
  force.unref();
  await closed;
  clearTimeout(force);
  await prisma.$disconnect();
  process.stdout.write(`${JSON.stringify({ event: 'stopped' })}\n`);
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
