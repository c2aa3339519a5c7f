/**
 * The one SQL dialect: the coordinator's store and the participants' barrier read the same dialect
 * object for a database, and a database of another type is refused by one rule, at start, naming
 * its type and the supported ones, on both sides.
 */
import { DataSource } from 'typeorm';
import { SQL_DIALECTS, SUPPORTED_DATABASE_TYPES, UnsupportedDatabaseError, isTransient, sqlDialectOf, sqlDialectOfType } from '@tcc/client/sql';
import { dialectOf } from '@tcc/client';
import { Database } from '../../apps/coordinator/src/store/database';

const SUPPORTED = 'postgres, mysql, mariadb, better-sqlite3, sqlite';

/** A DataSource of the type, never connected: a dialect needs only its options. */
function dataSourceOf(type: string): DataSource {
  const options = type === 'better-sqlite3' || type === 'sqlite' ? { type, database: ':memory:' } : { type, host: '127.0.0.1', port: 1, username: 'nobody' };
  return new DataSource(options as never);
}

describe('the one SQL dialect', () => {
  it.each([
    ['mysql', 'mysql'],
    ['mariadb', 'mysql'],
    ['postgres', 'postgres'],
    ['better-sqlite3', 'sqlite'],
  ] as const)('a %s database: the coordinator and the barrier use the same dialect object (%s)', (type, name) => {
    const dataSource = dataSourceOf(type);
    const database = new Database(dataSource);
    const barriers = sqlDialectOf(dataSource.manager);
    expect(barriers).toBe(SQL_DIALECTS[name]);
    expect(database.sql.dialect).toBe(barriers);
    expect(database.dialect).toBe(name);
    expect(dialectOf(dataSource)).toBe(name);
    // The store's pieces are the shared dialect's own.
    expect(database.sql.insertIfAbsent).toBe(barriers.insertIfAbsent);
    expect(database.sql.shareLock).toBe(barriers.shareLock);
  });

  it('refuses a database of another type with one error naming it and the supported ones, on both sides', () => {
    expect(Object.values(SUPPORTED_DATABASE_TYPES).flat().join(', ')).toBe(SUPPORTED);
    const cockroach = dataSourceOf('cockroachdb');
    const barrier = ((): unknown => {
      try {
        return sqlDialectOf(cockroach);
      } catch (error) {
        return error;
      }
    })();
    expect(barrier).toBeInstanceOf(UnsupportedDatabaseError);
    expect((barrier as Error).message).toBe(`tcc barrier: unsupported database type "cockroachdb"; supported: ${SUPPORTED}`);
    expect(() => new Database(cockroach)).toThrow(UnsupportedDatabaseError);
    expect(() => new Database(cockroach)).toThrow(`tcc coordinator: unsupported database type "cockroachdb"; supported: ${SUPPORTED}`);
    expect(() => sqlDialectOfType('oracle')).toThrow(`unsupported database type "oracle"; supported: ${SUPPORTED}`);
  });

  it('writes insert-if-absent, the locking read and placeholders once per database', () => {
    expect(SQL_DIALECTS.mysql.insertIfAbsent('INTO t (a) VALUES (?)')).toBe('INSERT IGNORE INTO t (a) VALUES (?)');
    expect(SQL_DIALECTS.postgres.insertIfAbsent('INTO t (a) VALUES (?)')).toBe('INSERT INTO t (a) VALUES (?) ON CONFLICT DO NOTHING');
    expect(SQL_DIALECTS.sqlite.insertIfAbsent('INTO t (a) VALUES (?)')).toBe('INSERT OR IGNORE INTO t (a) VALUES (?)');
    expect([SQL_DIALECTS.mysql.shareLock, SQL_DIALECTS.postgres.shareLock, SQL_DIALECTS.sqlite.shareLock]).toEqual([' LOCK IN SHARE MODE', ' FOR SHARE', '']);
    expect(SQL_DIALECTS.postgres.placeholders('a = ? AND b IN (?, ?)')).toBe('a = $1 AND b IN ($2, $3)');
    expect(SQL_DIALECTS.mysql.placeholders('a = ?')).toBe('a = ?');
  });

  it('tells deadlocks and transient failures by the driver that raised them', () => {
    const innodbVictim = { message: 'Deadlock found', driverError: { code: 'ER_LOCK_DEADLOCK', errno: 1213 } };
    const pgVictim = { message: 'deadlock detected', code: '40P01' };
    expect(SQL_DIALECTS.mysql.isDeadlock(innodbVictim)).toBe(true);
    expect(SQL_DIALECTS.postgres.isDeadlock(pgVictim)).toBe(true);
    expect(SQL_DIALECTS.postgres.isDeadlock(innodbVictim)).toBe(false);
    expect(SQL_DIALECTS.mysql.isTransient({ errno: 1205, message: 'Lock wait timeout exceeded' })).toBe(true);
    expect(SQL_DIALECTS.postgres.isTransient({ code: '57P01', message: 'terminating connection' })).toBe(true);
    expect(SQL_DIALECTS.sqlite.isTransient({ code: 'SQLITE_BUSY' })).toBe(true);
    expect(isTransient(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransient({ code: 'ER_DUP_ENTRY', errno: 1062, message: 'Duplicate entry' })).toBe(false);
    expect(isTransient({ code: '23505', message: 'duplicate key value' })).toBe(false);
  });

  it('finds the driver code under an ORM wrapper (TypeORM driverError, Drizzle cause) and tells a missing table per database', () => {
    const drizzleWrapped = { message: 'Failed query: INSERT ...', cause: { message: 'deadlock detected', code: '40P01' } };
    expect(SQL_DIALECTS.postgres.isDeadlock(drizzleWrapped)).toBe(true);
    expect(SQL_DIALECTS.mysql.isDeadlock({ message: 'Failed query', cause: { code: 'ER_LOCK_DEADLOCK', errno: 1213 } })).toBe(true);
    expect(SQL_DIALECTS.postgres.isTransient({ message: 'Failed query', cause: new Error('Connection terminated unexpectedly') })).toBe(true);
    expect(SQL_DIALECTS.postgres.isMissingTable({ message: 'Failed query', cause: { code: '42P01' } })).toBe(true);
    expect(SQL_DIALECTS.mysql.isMissingTable({ driverError: { code: 'ER_NO_SUCH_TABLE', errno: 1146 } })).toBe(true);
    expect(SQL_DIALECTS.sqlite.isMissingTable({ code: 'SQLITE_ERROR', message: 'no such table: tcc_barrier' })).toBe(true);
    expect(SQL_DIALECTS.postgres.isMissingTable({ code: '42703', message: 'column does not exist' })).toBe(false);
    expect(SQL_DIALECTS.mysql.isMissingTable({ code: 'ECONNREFUSED' })).toBe(false);
  });

  it('retries a Galera node that is not ready (1047 with a WSREP message), not any unknown command', () => {
    // As mysql2 reports it from a node rejoining the cluster (test/galera answers it for real).
    const notReady = { code: 'ER_UNKNOWN_COM_ERROR', errno: 1047, sqlState: '08S01', message: 'WSREP has not yet prepared node for application use' };
    expect(SQL_DIALECTS.mysql.isTransient(notReady)).toBe(true);
    expect(SQL_DIALECTS.mysql.isTransient({ driverError: notReady, message: 'Query failed' })).toBe(true);
    expect(isTransient(notReady)).toBe(true);
    expect(SQL_DIALECTS.mysql.isTransient({ code: 'ER_LOCK_DEADLOCK', errno: 1213, message: 'WSREP detected deadlock/conflict and aborted the transaction. Try restarting the transaction' })).toBe(true);
    expect(SQL_DIALECTS.mysql.isTransient({ code: 'ER_ERROR_DURING_COMMIT', errno: 1180, message: 'WSREP replication failed. Check your wsrep connection state and retry the query.' })).toBe(true);
    expect(
      SQL_DIALECTS.mysql.isTransient({
        code: 'ER_ERROR_DURING_COMMIT',
        errno: 1180,
        message: 'Error while appending streaming replication fragment(provider status: Not connected to Primary Component)',
      }),
    ).toBe(true);
    expect(SQL_DIALECTS.mysql.isTransient({ code: 'ER_ERROR_DURING_COMMIT', errno: 1180, message: "Got error 28 \"No space left on device\" during COMMIT" })).toBe(false);
    // 1047 without the WSREP message is a command the server does not know: retrying cannot help.
    expect(SQL_DIALECTS.mysql.isTransient({ code: 'ER_UNKNOWN_COM_ERROR', errno: 1047, message: 'Unknown command' })).toBe(false);
  });
});
