/**
 * The one place that knows which SQL dialect a participant database speaks. Everything the barrier
 * writes by hand (and whatever business code writes through `execute` and `select`) branches here,
 * never on the driver name elsewhere.
 */
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';

export type SqlDialect = 'postgres' | 'mysql' | 'sqlite';

/** TypeORM `type`s a participant database may have, by dialect. */
export const SUPPORTED_DATABASE_TYPES: Readonly<Record<SqlDialect, readonly string[]>> = {
  postgres: ['postgres'],
  mysql: ['mysql', 'mariadb'],
  sqlite: ['better-sqlite3', 'sqlite'],
};

/** Thrown (at start-up, by TccModule) when the participants' DataSource is of a type the barrier does not speak. */
export class UnsupportedDatabaseError extends Error {
  constructor(readonly databaseType: string) {
    const supported = Object.values(SUPPORTED_DATABASE_TYPES).flat().join(', ');
    super(`tcc barrier: unsupported database type "${databaseType}"; supported: ${supported}`);
    this.name = 'UnsupportedDatabaseError';
  }
}

export function dialectOfType(type: string): SqlDialect {
  for (const [dialect, types] of Object.entries(SUPPORTED_DATABASE_TYPES) as Array<[SqlDialect, readonly string[]]>) {
    if (types.includes(type)) return dialect;
  }
  throw new UnsupportedDatabaseError(type);
}

/** The DataSource behind a manager or query runner: `dataSource` in TypeORM 1.x, `connection` in 0.3. */
function dataSourceOf(source: DataSource | EntityManager | QueryRunner): DataSource {
  if ('options' in source) return source;
  const holder = source as { dataSource?: DataSource; connection?: DataSource };
  return (holder.dataSource ?? holder.connection) as DataSource;
}

export function dialectOf(source: DataSource | EntityManager | QueryRunner): SqlDialect {
  return dialectOfType(String(dataSourceOf(source).options.type));
}

/**
 * Rewrites `?` placeholders to PostgreSQL's `$1, $2, ...`; MySQL and SQLite take `?` as written.
 * The statements of this library and of the example services have no `?` inside string literals.
 */
export function placeholders(dialect: SqlDialect, sql: string): string {
  if (dialect !== 'postgres') return sql;
  let index = 0;
  return sql.replace(/\?/g, () => `$${++index}`);
}
