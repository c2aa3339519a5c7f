/**
 * The column types and table options the coordinator's migrations write, per dialect, so one set
 * of migrations builds the same schema on MySQL/MariaDB, PostgreSQL and SQLite.
 */
import type { QueryRunner } from 'typeorm';

export interface ColumnTypes {
  /** Case-sensitive ids compared and ordered byte by byte (gid paging relies on the order). */
  id(length: number): string;
  /** Long text: payloads and metadata. */
  text: string;
  /** An auto-numbered primary key column. */
  serial: string;
  /** Appended to CREATE TABLE. */
  tableSuffix: string;
  /** DROP INDEX, which MySQL ties to its table. */
  dropIndex(name: string, table: string): string;
}

export function columnTypes(q: QueryRunner): ColumnTypes {
  const type = q.connection.options.type;
  if (type === 'mysql' || type === 'mariadb') {
    return {
      id: (n) => `VARCHAR(${n}) CHARACTER SET ascii COLLATE ascii_bin`,
      text: 'MEDIUMTEXT',
      serial: 'BIGINT NOT NULL AUTO_INCREMENT',
      tableSuffix: ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin',
      dropIndex: (name, table) => `DROP INDEX ${name} ON ${table}`,
    };
  }
  if (type === 'postgres') {
    return {
      id: (n) => `VARCHAR(${n}) COLLATE "C"`,
      text: 'TEXT',
      serial: 'BIGSERIAL',
      tableSuffix: '',
      dropIndex: (name) => `DROP INDEX ${name}`,
    };
  }
  // SQLite compares bytes by default; INTEGER PRIMARY KEY numbers itself.
  return { id: (n) => `VARCHAR(${n})`, text: 'TEXT', serial: 'INTEGER NOT NULL', tableSuffix: '', dropIndex: (name) => `DROP INDEX ${name}` };
}
