/**
 * The coordinator's connection to its server database when the server drops it mid-batch (a
 * restart, a failover, an operator killing the session): the batch is retried on a new
 * connection and answered, the process lives on (a pg client's error with nobody listening would
 * end it), and the pool keeps working. On MariaDB or PostgreSQL (TCC_TEST_DB).
 */
import { Database } from '../../apps/coordinator/src/store/database';
import { createTestDatabase, type TestDatabase } from '../support/test.database';
import { eventually } from '../support/wait';

describe('a connection killed by the server in the middle of a batch', () => {
  let db: TestDatabase | undefined;
  let database: Database | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    database = Database.create({ url: db.url, sqlitePath: '', poolSize: 2 });
    await database.connect();
  });

  afterAll(async () => {
    await database?.close();
    await db?.drop();
  });

  it('is retried on a fresh connection and answered; the pool keeps working', async () => {
    const postgres = db!.engine === 'postgres';
    const marker = `tcc_kill_${Date.now()}`;
    const sleep = postgres ? `SELECT pg_sleep(1.5) AS ${marker}` : `SELECT SLEEP(1.5) AS ${marker}`;
    const answered = database!.batch([{ sql: sleep, params: [] }, { sql: 'SELECT 7 AS seven', params: [] }]);
    const victim = await eventually(
      async () => {
        const rows = postgres
          ? await db!.query(`SELECT pid AS id FROM pg_stat_activity WHERE query LIKE ? AND pid <> pg_backend_pid()`, [`%${marker}%`])
          : await db!.query(`SELECT ID AS id FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID()`, [`%${marker}%`]);
        return rows.length ? Number(rows[0].id) : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 20, what: 'the batch to be running on the server' },
    );
    if (postgres) await db!.query('SELECT pg_terminate_backend(?)', [victim]);
    else await db!.query(`KILL ${victim}`);

    const results = await answered;
    expect(results[1]).toEqual([{ seven: 7 }]);
    expect(await database!.select('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    // The answer came from another connection than the one killed.
    const again = postgres
      ? await db!.query('SELECT COUNT(*) AS n FROM pg_stat_activity WHERE pid = ?', [victim])
      : await db!.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ?', [victim]);
    expect(Number(again[0].n)).toBe(0);
  });
});
