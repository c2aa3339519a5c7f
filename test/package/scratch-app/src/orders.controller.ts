/** HTTP face of the scratch app: place an order, read the stock, say what it runs on. */
import { BadRequestException, Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import { BranchRefusedError, runRead, select } from '@tcc/client';
import type { JsonValue } from '@tcc/client/protocol';
import type { DataSource } from 'typeorm';
import { OrderAbandoned, OrdersService, type OrderRequest } from './orders.service';

export type OrderAnswer =
  | { outcome: 'committed'; gid: string; tryAnswer: JsonValue | undefined }
  | { outcome: 'abandoned'; gid: string }
  | { outcome: 'refused'; gid: string; code: string; statusCode: number };

function orderOf(body: unknown): OrderRequest {
  const { sku, quantity, fail } = (body ?? {}) as Record<string, unknown>;
  if (typeof sku !== 'string' || typeof quantity !== 'number' || (fail !== undefined && typeof fail !== 'boolean')) {
    throw new BadRequestException('body must be { sku: string, quantity: number, fail?: boolean }');
  }
  return { sku, quantity, fail: fail === true };
}

@Controller()
export class OrdersController {
  constructor(
    private readonly orders: OrdersService,
    private readonly adapterHost: HttpAdapterHost,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  @Post('orders')
  @HttpCode(200)
  async place(@Body() body: unknown): Promise<OrderAnswer> {
    try {
      const { gid, tryAnswer } = await this.orders.place(orderOf(body));
      return { outcome: 'committed', gid, tryAnswer };
    } catch (error) {
      if (error instanceof OrderAbandoned) return { outcome: 'abandoned', gid: error.gid };
      if (error instanceof BranchRefusedError) return { outcome: 'refused', gid: error.gid, code: error.code, statusCode: error.statusCode };
      throw error;
    }
  }

  @Get('stock/:sku')
  async stock(@Param('sku') sku: string): Promise<{ available: number; reserved: number } | null> {
    const rows = await runRead(this.dataSource, (manager) =>
      select<{ available: number | string; reserved: number | string }>(manager, 'SELECT available, reserved FROM stock WHERE sku = ?', [sku]),
    );
    const row = rows[0];
    return row ? { available: Number(row.available), reserved: Number(row.reserved) } : null;
  }

  /** Which HTTP platform and database this is, and where its packages were loaded from. */
  @Get('info')
  info(): Record<string, string> {
    return {
      platform: this.adapterHost.httpAdapter.getType(),
      database: String(this.dataSource.options.type),
      tccClient: require.resolve('@tcc/client'),
      nestCore: require.resolve('@nestjs/core'),
      typeorm: require.resolve('typeorm'),
    };
  }
}
