/**
 * The start-up check of an app hosting participants: a cheap read of the barrier table. A missing
 * table stops start-up with an error naming the adapter's way to create it; any other failure (the
 * database not reachable yet) is the caller's to report, since the app may still recover.
 */
import { runLocalRead } from '../sql/local-transaction.runner';
import type { BarrierAdapter, BarrierDatabase } from './barrier.adapter';
import { BarrierStore } from './barrier.store';
import { BARRIER_TABLE } from './barrier.table';

export class BarrierTableMissingError extends Error {
  constructor(adapter: BarrierAdapter, database: BarrierDatabase) {
    super(`tcc barrier: the table ${BARRIER_TABLE} does not exist in the participants' ${database.dialect.name} database (${adapter.name} adapter): ${adapter.migrationHint}`);
    this.name = 'BarrierTableMissingError';
  }
}

/** Resolves when the table answers; BarrierTableMissingError when it does not exist; any other error as it came. */
export async function checkBarrierTable(adapter: BarrierAdapter, database: BarrierDatabase): Promise<void> {
  try {
    await runLocalRead(database, (sql) => new BarrierStore(database.dialect).probe(sql));
  } catch (error) {
    if (database.dialect.isMissingTable(error)) throw new BarrierTableMissingError(adapter, database);
    throw error;
  }
}
