/**
 * `POST /orders`: 201 `{ id, status: "PAID", gid }` when the transaction commits, 409 when a try
 * refused or the transaction timed out, 502/503 when a branch or the coordinator failed (any
 * transaction begun is rolled back). A failure names an order (`id`, `status: "CANCELLED"`) only
 * when the order was written; otherwise it says `created: false`: there is nothing to look up.
 */
import { Body, ConflictException, Controller, Get, HttpException, HttpStatus, Param, Post } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { BranchFailedError, BranchRefusedError, CoordinatorError, CoordinatorUnavailableError, TransactionAbortedError } from '@tcc/client';
import type { OrderRow } from './order.store';
import { OrdersService } from './orders.service';
import { PlaceOrderDto } from './place-order.dto';

export interface PlacedOrder {
  id: string;
  status: 'PAID';
  gid: string;
}

@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  async place(@Body() body: PlaceOrderDto): Promise<PlacedOrder> {
    const id = randomUUID();
    try {
      const gid = await this.orders.place({ orderId: id, accountId: body.accountId, amount: body.amount });
      return { id, status: 'PAID', gid };
    } catch (error) {
      // The answer names the order only if its try wrote it (it is then cancelled by the rollback).
      const written = await this.orders.exists(id).catch(() => false);
      const about = (gid?: string): Record<string, unknown> =>
        written ? { id, status: 'CANCELLED', ...(gid ? { gid } : {}) } : { created: false, ...(gid ? { gid } : {}) };
      if (error instanceof BranchRefusedError) {
        throw new ConflictException({ ...about(error.gid), reason: error.code });
      }
      if (error instanceof TransactionAbortedError) {
        throw new ConflictException({ ...about(error.gid), reason: 'TRANSACTION_ABORTED' });
      }
      if (error instanceof BranchFailedError) {
        throw new HttpException({ ...about(error.gid), reason: 'BRANCH_UNAVAILABLE' }, HttpStatus.BAD_GATEWAY);
      }
      if (error instanceof CoordinatorUnavailableError) {
        throw new HttpException({ ...about(), reason: 'COORDINATOR_UNAVAILABLE', message: error.message }, HttpStatus.SERVICE_UNAVAILABLE);
      }
      if (error instanceof CoordinatorError) {
        // The coordinator refused a call this service made: a configuration problem (e.g. a target
        // outside TCC_ALLOWED_TARGETS), not the buyer's; any transaction begun is rolled back.
        throw new HttpException({ ...about(), reason: 'COORDINATOR_REFUSED', message: error.message }, HttpStatus.BAD_GATEWAY);
      }
      throw error;
    }
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<OrderRow> {
    return this.orders.get(id);
  }
}
