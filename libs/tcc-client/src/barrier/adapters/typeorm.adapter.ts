/**
 * The TypeORM adapter, the default when TccModule names no `barrier`: the @nestjs/typeorm DataSource
 * named by `dataSourceName`. Participant methods get the transaction's EntityManager; the barrier's
 * statements go through sql.result.ts (prepared on the transaction's own connection).
 * @nestjs/typeorm is loaded at first use, not at import: an initiator-only app needs none of it.
 */
import type { DataSource, EntityManager } from 'typeorm';
import { sqlDialectOf } from '../../sql/sql.dialect';
import { execute, select } from '../../sql/sql.result';
import type { BarrierAdapter, BarrierDatabase, BarrierSql, ProviderLookup } from '../barrier.adapter';
import { onePer, requirePeer } from './peer';

export interface TypeormBarrierOptions {
  /** Name of the @nestjs/typeorm DataSource holding the barrier table. Default: the unnamed one. */
  dataSourceName?: string;
}

function sqlOf(manager: EntityManager): BarrierSql {
  return {
    execute: (sql, parameters) => execute(manager, sql, parameters),
    select: (sql, parameters) => select(manager, sql, parameters),
  };
}

/** The database of a DataSource (one per DataSource, shared with runInLocalTransaction and runRead). */
export function typeormDatabase(dataSource: DataSource): BarrierDatabase<EntityManager> {
  return onePer(dataSource, () => ({
    dialect: sqlDialectOf(dataSource),
    transaction: (work) => dataSource.transaction((manager) => work(sqlOf(manager), manager)),
    read: (work) => work({ select: (sql, parameters) => select(dataSource.manager, sql, parameters) }),
  }));
}

type GetDataSourceToken = (name?: string) => unknown;

export function typeormBarrier(options: TypeormBarrierOptions = {}): BarrierAdapter<EntityManager> {
  const named = options.dataSourceName ? ` named "${options.dataSourceName}"` : '';
  return {
    name: 'typeorm',
    migrationHint: 'list TCC_BARRIER_MIGRATIONS in the TypeORM migrations of the DataSource and run them (migrations: [...TCC_BARRIER_MIGRATIONS, ...yours])',
    connect(lookup: ProviderLookup) {
      const { getDataSourceToken } = requirePeer<{ getDataSourceToken: GetDataSourceToken }>(
        '@nestjs/typeorm',
        'typeorm',
        () => require('@nestjs/typeorm'),
        '@nestjs/typeorm typeorm',
      );
      let dataSource: DataSource;
      try {
        dataSource = lookup(getDataSourceToken(options.dataSourceName)) as DataSource;
      } catch {
        throw new Error(
          `tcc participants need a TypeORM DataSource${named}: import TypeOrmModule.forRoot() with the barrier migrations (TCC_BARRIER_MIGRATIONS) ` +
            'in the application, or give TccModule another barrier adapter (barrier: drizzleBarrier(...), kyselyBarrier(...), pgBarrier(...), mysql2Barrier(...))',
        );
      }
      return typeormDatabase(dataSource);
    },
  };
}
