/** The @nestjs/typeorm DataSource whose database holds the barrier and the participants' business tables. */
import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { ResolvedTccOptions, TCC_OPTIONS } from '../client/tcc.options';

@Injectable()
export class ParticipantDataSource {
  private dataSource: DataSource | undefined;

  constructor(
    @Inject(TCC_OPTIONS) private readonly options: ResolvedTccOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  get(): DataSource {
    if (this.dataSource) return this.dataSource;
    try {
      this.dataSource = this.moduleRef.get<DataSource>(getDataSourceToken(this.options.dataSourceName), { strict: false });
    } catch {
      throw new Error(
        `tcc participants need a TypeORM DataSource${this.options.dataSourceName ? ` named "${this.options.dataSourceName}"` : ''}: ` +
          'import TypeOrmModule.forRoot() with the barrier migration in the application',
      );
    }
    return this.dataSource;
  }
}
