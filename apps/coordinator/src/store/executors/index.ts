/** The executor of each database driver, chosen once from the DataSource's type (Database). */
import type { DataSource, DataSourceOptions } from 'typeorm';
import { sqlDialectOfType, type SqlDialect } from '@tcc/client/sql';
import type { DriverExecutor } from './driver.executor';
import { MysqlExecutor } from './mysql.executor';
import { PostgresExecutor } from './postgres.executor';
import { SqliteExecutor } from './sqlite.executor';

export type { DriverExecutor, Executor, Row } from './driver.executor';

interface Driver {
  /** What this driver needs of the DataSource's options (MySQL: several statements in one packet). */
  dataSourceOptions(options: DataSourceOptions): DataSourceOptions;
  new (dataSource: DataSource): DriverExecutor;
}

const DRIVERS: Readonly<Record<SqlDialect, Driver>> = {
  mysql: MysqlExecutor,
  postgres: PostgresExecutor,
  sqlite: SqliteExecutor,
};

/** The driver of a TypeORM database type; the shared rule refuses any other type, naming the supported ones. */
export function driverOfType(type: string): Driver {
  return DRIVERS[sqlDialectOfType(type, 'tcc coordinator').name];
}
