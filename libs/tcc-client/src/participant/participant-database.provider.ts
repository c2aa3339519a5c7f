/**
 * The database holding the barrier and the participants' business tables, through the adapter
 * TccModule was given (`barrier`, default the TypeORM DataSource named by `dataSourceName`). The
 * adapter finds its ORM instance through ModuleRef at first use, so an app without participants
 * never needs one.
 */
import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { BarrierAdapter, BarrierDatabase } from '../barrier/barrier.adapter';
import { ResolvedTccOptions, TCC_OPTIONS } from '../tcc.options';

@Injectable()
export class ParticipantDatabase {
  private database: BarrierDatabase | undefined;

  constructor(
    @Inject(TCC_OPTIONS) private readonly options: ResolvedTccOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  get adapter(): BarrierAdapter {
    return this.options.barrier;
  }

  get(): BarrierDatabase {
    this.database ??= this.options.barrier.connect((token) => this.moduleRef.get(token as string, { strict: false }));
    return this.database;
  }
}
