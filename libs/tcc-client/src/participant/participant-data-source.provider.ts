/**
 * The TypeORM DataSource whose database holds the barrier and the participants' business tables:
 * the one @nestjs/typeorm registered (named by `dataSourceName`). @nestjs/typeorm is needed only by
 * applications that host participants, so it is loaded here, at first use, not at import.
 */
import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { DataSource } from 'typeorm';
import { ResolvedTccOptions, TCC_OPTIONS } from '../tcc.options';

type GetDataSourceToken = (name?: string) => string | (abstract new (...args: never[]) => unknown);

function dataSourceToken(name: string | undefined): ReturnType<GetDataSourceToken> {
  let nestTypeorm: { getDataSourceToken: GetDataSourceToken };
  try {
    nestTypeorm = require('@nestjs/typeorm') as { getDataSourceToken: GetDataSourceToken };
  } catch {
    throw new Error(
      'tcc participants need @nestjs/typeorm and typeorm with a DataSource (npm install @nestjs/typeorm typeorm and a driver: pg, mysql2 or better-sqlite3)',
    );
  }
  return nestTypeorm.getDataSourceToken(name);
}

@Injectable()
export class ParticipantDataSource {
  private dataSource: DataSource | undefined;

  constructor(
    @Inject(TCC_OPTIONS) private readonly options: ResolvedTccOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  get(): DataSource {
    if (this.dataSource) return this.dataSource;
    const token = dataSourceToken(this.options.dataSourceName);
    try {
      this.dataSource = this.moduleRef.get<DataSource>(token, { strict: false });
    } catch {
      throw new Error(
        `tcc participants need a TypeORM DataSource${this.options.dataSourceName ? ` named "${this.options.dataSourceName}"` : ''}: ` +
          'import TypeOrmModule.forRoot() with the barrier migrations (TCC_BARRIER_MIGRATIONS) in the application',
      );
    }
    return this.dataSource;
  }
}
