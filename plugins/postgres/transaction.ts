import pg from 'pg';

/**
 * Per-test isolation by rollback: the test runs inside one transaction on one connection that
 * is rolled back afterwards. Code under test that opens its own transactions gets savepoints
 * instead (BEGIN → SAVEPOINT, COMMIT → RELEASE, ROLLBACK → ROLLBACK TO), so nesting works and
 * nothing ever commits.
 */

const BEGIN = /^\s*(BEGIN|START\s+TRANSACTION)\b[^;]*;?\s*$/i;
const COMMIT = /^\s*(COMMIT|END)\b(\s+(WORK|TRANSACTION))?\s*;?\s*$/i;
const ROLLBACK = /^\s*(ROLLBACK|ABORT)\b(\s+(WORK|TRANSACTION))?\s*;?\s*$/i;

type QueryArg = string | pg.QueryConfig;

function textOf(arg: QueryArg): string | undefined {
  return typeof arg === 'string' ? arg : typeof arg?.text === 'string' ? arg.text : undefined;
}

/** Savepoint bookkeeping on top of one client that is already inside a transaction. */
export class SavepointClient {
  readonly client: pg.PoolClient;
  private depth = 0;
  private counter = 0;
  private readonly stack: string[] = [];

  constructor(client: pg.PoolClient) {
    this.client = client;
  }

  /** Rewrites transaction control statements into savepoint statements; passes others through. */
  rewrite(text: string): string {
    if (BEGIN.test(text)) {
      this.counter += 1;
      const name = `shipgate_sp_${this.counter}`;
      this.stack.push(name);
      this.depth += 1;
      return `SAVEPOINT ${name}`;
    }
    if (COMMIT.test(text)) {
      const name = this.stack.pop();
      if (!name) return 'SELECT 1 /* shipgate: COMMIT outside a nested transaction ignored */';
      this.depth -= 1;
      return `RELEASE SAVEPOINT ${name}`;
    }
    if (ROLLBACK.test(text)) {
      const name = this.stack.pop();
      if (!name) return 'SELECT 1 /* shipgate: ROLLBACK outside a nested transaction ignored */';
      this.depth -= 1;
      // ROLLBACK TO keeps the savepoint; release it so the stack matches the caller's view.
      return `ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`;
    }
    return text;
  }

  // biome-ignore lint/suspicious/noExplicitAny: mirrors pg's overloaded query signature
  query(arg: QueryArg, values?: unknown[]): Promise<any> {
    const text = textOf(arg);
    if (text === undefined) return this.client.query(arg as pg.QueryConfig, values);
    const rewritten = this.rewrite(text);
    if (rewritten === text) return this.client.query(arg as pg.QueryConfig, values);
    return this.client.query(rewritten);
  }

  /** Runs `fn` inside a savepoint; rolls back to it when `fn` throws. */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.query('BEGIN');
    try {
      const result = await fn();
      await this.query('COMMIT');
      return result;
    } catch (err) {
      await this.query('ROLLBACK');
      throw err;
    }
  }
}

/**
 * A `pg.Pool` whose every connection is the test's transaction (through savepoints), so
 * libraries that insist on a Pool — `@prisma/adapter-pg`, for one — run inside the test's
 * transaction. `end()` does not close the underlying connection; the fixture owns it.
 */
export class TransactionPool extends pg.Pool {
  private readonly sp: SavepointClient;

  constructor(sp: SavepointClient) {
    super({ max: 1 });
    this.sp = sp;
  }

  // biome-ignore lint/suspicious/noExplicitAny: pg's Pool#connect has callback overloads
  override connect(): any {
    const sp = this.sp;
    const client = sp.client;
    const facade = Object.create(client) as pg.PoolClient;
    facade.query = ((arg: QueryArg, values?: unknown[]) => sp.query(arg, values)) as pg.PoolClient['query'];
    facade.release = () => {};
    return Promise.resolve(facade);
  }

  // biome-ignore lint/suspicious/noExplicitAny: pg's Pool#query has many overloads
  override query(arg: any, values?: any): any {
    return this.sp.query(arg, values);
  }

  override end(): Promise<void> {
    return Promise.resolve();
  }
}
