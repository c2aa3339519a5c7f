/** HTTP face of the scratch app: place an order, read the stock, say what it runs on. */
import { Body, Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { eq } from 'drizzle-orm';
import { createRequire } from 'node:module';
import { DRIZZLE } from './database.js';
import type { Database } from './database.js';
import { OrdersService, placeOrder } from './orders.service.js';
import type { OrderAnswer } from './orders.service.js';
import { stock } from './stock.schema.js';

@Controller()
export class OrdersController {
  constructor(
    private readonly orders: OrdersService,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(DRIZZLE) private readonly db: Database,
  ) {}

  @Post('orders')
  @HttpCode(200)
  place(@Body() body: unknown): Promise<OrderAnswer> {
    return placeOrder(this.orders, body);
  }

  @Get('stock/:sku')
  async stock(@Param('sku') sku: string): Promise<{ available: number; reserved: number } | null> {
    const rows = await this.db.select({ available: stock.available, reserved: stock.reserved }).from(stock).where(eq(stock.sku, sku));
    return rows[0] ?? null;
  }

  /**
   * Which HTTP platform this is, where its packages were loaded from, and whether @tcc/client sees
   * the app's own NestJS: the module @nestjs/common resolves to from inside the library must be the
   * very module this app imported, and the library's ES entry the same classes as its CommonJS build.
   */
  @Get('info')
  async info(): Promise<Record<string, string | boolean>> {
    const require = createRequire(import.meta.url);
    const nestCommon = await import('@nestjs/common');
    const fromLibrary = createRequire(require.resolve('@tcc/client'))('@nestjs/common') as typeof nestCommon;
    const esm = await import('@tcc/client');
    const cjs = require('@tcc/client') as typeof esm;
    return {
      platform: this.adapterHost.httpAdapter.getType(),
      tccClient: require.resolve('@tcc/client'),
      tccClientImport: import.meta.resolve('@tcc/client'),
      nestCore: require.resolve('@nestjs/core'),
      drizzle: require.resolve('drizzle-orm'),
      oneNest: fromLibrary.Injectable === nestCommon.Injectable && fromLibrary.Module === nestCommon.Module,
      oneLibrary: esm.TccModule === cjs.TccModule && esm.TccInitiator === cjs.TccInitiator,
    };
  }
}
