/**
 * The app's database: one `pg` Pool and the Drizzle instance over it, provided under the token
 * DRIZZLE. The schema is created at start by plain SQL: the barrier table from the statements
 * @tcc/client ships for PostgreSQL, then the app's own stock table (a drizzle-kit migration would
 * hold the same statements).
 */
import type { Provider } from '@nestjs/common';
import { barrierMigrationSql } from '@tcc/client';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './stock.schema.js';

export const DRIZZLE = Symbol('DRIZZLE');
export type Database = NodePgDatabase<typeof schema>;

async function migrate(pool: pg.Pool): Promise<void> {
  const { rows } = await pool.query<{ present: boolean }>("SELECT to_regclass('tcc_barrier') IS NOT NULL AS present");
  if (rows[0]?.present) return;
  for (const statement of barrierMigrationSql('postgres')) await pool.query(statement);
  await pool.query(`CREATE TABLE stock (
    sku VARCHAR(64) NOT NULL PRIMARY KEY,
    available INT NOT NULL CHECK (available >= 0),
    reserved INT NOT NULL CHECK (reserved >= 0)
  )`);
  await pool.query("INSERT INTO stock (sku, available, reserved) VALUES ('widget', 10, 0)");
}

export const databaseProvider: Provider = {
  provide: DRIZZLE,
  useFactory: async (): Promise<Database> => {
    const url = process.env.DB_URL;
    if (!url) throw new Error('DB_URL is not set');
    const pool = new pg.Pool({ connectionString: url, max: 5 });
    await migrate(pool);
    return drizzle(pool, { schema });
  },
};
