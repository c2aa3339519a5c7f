/**
 * One set of coordinator migrations, two servers: applied to a fresh MariaDB and a fresh
 * PostgreSQL database, they must build the same tables, columns (type family, length, nullability),
 * indexes and byte-ordered ids, so the store's SQL means the same on both.
 */
import { Database } from '../../apps/coordinator/src/store/database';
import { createTestDatabase, type Row, type TestDatabase } from '../support/test.database';

interface Column {
  table: string;
  column: string;
  type: string;
  nullable: boolean;
}

const TYPE_FAMILY: Record<string, string> = {
  varchar: 'varchar',
  'character varying': 'varchar',
  bigint: 'bigint',
  int: 'int',
  integer: 'int',
  mediumtext: 'text',
  text: 'text',
};

function family(r: Row): string {
  const type = TYPE_FAMILY[String(r.data_type).toLowerCase()] ?? `unknown:${r.data_type}`;
  return type === 'varchar' ? `varchar(${Number(r.length)})` : type;
}

async function migrate(db: TestDatabase): Promise<void> {
  const database = Database.create({ url: db.url, sqlitePath: '', poolSize: 2 });
  await database.connect();
  try {
    await database.migrate();
  } finally {
    await database.close();
  }
}

async function columns(db: TestDatabase): Promise<Column[]> {
  const schema = db.engine === 'postgres' ? 'public' : db.name;
  const rows = await db.query(
    `SELECT table_name AS table_name, column_name AS column_name, data_type AS data_type, character_maximum_length AS length,
            is_nullable AS is_nullable, collation_name AS collation_name
     FROM information_schema.columns WHERE table_schema = ? AND table_name LIKE 'tcc\\_%' AND table_name <> 'tcc_migrations'`,
    [schema],
  );
  const key = (c: Column): string => `${c.table}.${c.column}`;
  return rows.map((r) => ({
    table: String(r.table_name),
    column: String(r.column_name),
    type: family(r),
    nullable: r.is_nullable === 'YES',
  })).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** `table.index(column, ...)`, with the primary key named PRIMARY on both. */
async function indexes(db: TestDatabase): Promise<string[]> {
  const rows =
    db.engine === 'postgres'
      ? await db.query(
          `SELECT t.relname AS table_name, CASE WHEN x.indisprimary THEN 'PRIMARY' ELSE i.relname END AS index_name, a.attname AS column_name, k.ord AS seq
           FROM pg_index x
           JOIN pg_class i ON i.oid = x.indexrelid
           JOIN pg_class t ON t.oid = x.indrelid
           JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
           WHERE t.relnamespace = 'public'::regnamespace AND t.relname LIKE 'tcc\\_%' AND t.relname <> 'tcc_migrations'`,
        )
      : await db.query(
          `SELECT table_name AS table_name, index_name AS index_name, column_name AS column_name, seq_in_index AS seq
           FROM information_schema.statistics WHERE table_schema = ? AND table_name LIKE 'tcc\\_%' AND table_name <> 'tcc_migrations'`,
          [db.name],
        );
  const byIndex = new Map<string, Array<{ seq: number; column: string }>>();
  for (const r of rows) {
    const key = `${r.table_name}.${r.index_name}`;
    byIndex.set(key, [...(byIndex.get(key) ?? []), { seq: Number(r.seq), column: String(r.column_name) }]);
  }
  return [...byIndex.entries()].map(([key, cols]) => `${key}(${cols.sort((a, b) => a.seq - b.seq).map((c) => c.column).join(', ')})`).sort();
}

describe('coordinator migrations on MariaDB and PostgreSQL', () => {
  let mariadb: TestDatabase | undefined;
  let postgres: TestDatabase | undefined;

  beforeAll(async () => {
    mariadb = await createTestDatabase('mariadb');
    postgres = await createTestDatabase('postgres');
    await migrate(mariadb);
    await migrate(postgres);
  });

  afterAll(async () => {
    await mariadb?.drop();
    await postgres?.drop();
  });

  it('build the same tables and columns, with the same types, lengths and nullability', async () => {
    const onMariaDb = await columns(mariadb!);
    const onPostgres = await columns(postgres!);
    expect(onMariaDb.length).toBeGreaterThan(30);
    expect(onMariaDb.filter((c) => c.type.startsWith('unknown'))).toEqual([]);
    expect(onPostgres).toEqual(onMariaDb);
  });

  it('build the same indexes over the same columns in the same order', async () => {
    const onMariaDb = await indexes(mariadb!);
    expect(onMariaDb).toEqual(expect.arrayContaining(['tcc_transactions.PRIMARY(gid)', 'tcc_branches.PRIMARY(gid, branch_id)', 'tcc_transactions.idx_tcc_transactions_due(next_attempt_at)']));
    expect(await indexes(postgres!)).toEqual(onMariaDb);
  });

  it('compare and order gids byte by byte on both (admin paging reads gid > ? ORDER BY gid)', async () => {
    for (const db of [mariadb!, postgres!]) {
      for (const gid of ['b', 'B', 'a', '_', 'a-1', 'a.1']) {
        await db.query(
          "INSERT INTO tcc_transactions (gid, status, timeout_ms, created_at, updated_at, expires_at, rounds) VALUES (?, 'TRYING', 1, 0, 0, 0, 0)",
          [gid],
        );
      }
      const ordered = (await db.query('SELECT gid FROM tcc_transactions ORDER BY gid')).map((r) => String(r.gid));
      const after = (await db.query('SELECT gid FROM tcc_transactions WHERE gid > ? ORDER BY gid', ['B'])).map((r) => String(r.gid));
      const exact = (await db.query('SELECT gid FROM tcc_transactions WHERE gid = ?', ['A'])).length;
      expect({ engine: db.engine, ordered, after, exact }).toEqual({
        engine: db.engine,
        ordered: ['B', '_', 'a', 'a-1', 'a.1', 'b'],
        after: ['_', 'a', 'a-1', 'a.1', 'b'],
        exact: 0,
      });
    }
  });
});
