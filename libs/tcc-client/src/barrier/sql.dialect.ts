/**
 * The one place that knows which SQL dialect a participant database speaks. Everything the barrier
 * and the example services write by hand branches here, never on the driver name elsewhere.
 */
import type { DataSource, EntityManager } from 'typeorm';

export type SqlDialect = 'mysql' | 'sqlite';

export function dialectOf(source: DataSource | EntityManager): SqlDialect {
  const type = 'connection' in source ? source.connection.options.type : source.options.type;
  switch (type) {
    case 'mysql':
    case 'mariadb':
    case 'aurora-mysql':
      return 'mysql';
    case 'better-sqlite3':
    case 'sqlite':
      return 'sqlite';
    default:
      throw new Error(`tcc barrier: unsupported database type "${type}" (expected mysql, mariadb or better-sqlite3)`);
  }
}

/** `INSERT IGNORE` keeps the row that is already there: MySQL spells it one way, SQLite the other. */
export function insertIgnore(dialect: SqlDialect): string {
  return dialect === 'mysql' ? 'INSERT IGNORE INTO' : 'INSERT OR IGNORE INTO';
}

/** A locking read that waits for and then holds a shared lock (a no-op on SQLite, serialised anyway). */
export function lockInShareMode(dialect: SqlDialect): string {
  // `LOCK IN SHARE MODE` is understood by both MySQL 8 and MariaDB (MariaDB has no `FOR SHARE`).
  return dialect === 'mysql' ? ' LOCK IN SHARE MODE' : '';
}
