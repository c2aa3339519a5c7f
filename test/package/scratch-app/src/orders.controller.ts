/** HTTP face of the scratch app: place an order, read the stock, say what it runs on. */
import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import { runRead, select } from '@tcc/client';
import type { DataSource } from 'typeorm';
import { OrdersService, placeOrder, type OrderAnswer } from './orders.service';

@Controller()
export class OrdersController {
  constructor(
    private readonly orders: OrdersService,
    private readonly adapterHost: HttpAdapterHost,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  @Post('orders')
  @HttpCode(200)
  place(@Body() body: unknown): Promise<OrderAnswer> {
    return placeOrder(this.orders, body);
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
