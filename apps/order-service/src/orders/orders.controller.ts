/**
 * `POST /orders`: 201 `{ id, status: "PAID", gid }` when the transaction commits, 409 when a try
 * refused or the transaction timed out, 502/503 when a branch or the coordinator failed (any
 * transaction begun is rolled back), 202 `{ id, status: "UNKNOWN", gid }` when whether it committed
 * cannot be known yet (GET /orders/:id shows the real status once phase two finished). It says
 * only what it knows: CANCELLED only when the transaction is known not to commit, `created: false`
 * only when the order is known not to have been written. `POST /orders/:id/refund`: a saga (below).
 */
import { Body, ConflictException, Controller, Get, HttpCode, HttpException, HttpStatus, Param, Post, Res } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  BranchFailedError,
  BranchRefusedError,
  CoordinatorError,
  CoordinatorUnavailableError,
  SagaRolledBackError,
  TransactionAbortedError,
  TransactionOutcomeUnknownError,
} from '@tcc/client';
import type { OrderRow } from './order.store';
import { OrdersService } from './orders.service';
import { PlaceOrderDto } from './place-order.dto';

export interface RefundedOrder {
  id: string;
  status: 'REFUNDED';
  gid: string;
}

export interface PlacedOrder {
  id: string;
  status: 'PAID';
  gid: string;
}

/** The commit may or may not have been recorded: the order to look up, and its transaction. */
export interface UndecidedOrder {
  id: string;
  status: 'UNKNOWN';
  gid: string;
  reason: 'OUTCOME_UNKNOWN';
  message: string;
}

/** The part of the reply Nest leaves to a handler that sets its own status code. */
interface StatusReply {
  status(code: number): unknown;
  header(name: string, value: string): unknown;
}

@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  async place(@Body() body: PlaceOrderDto, @Res({ passthrough: true }) reply: StatusReply): Promise<PlacedOrder | UndecidedOrder> {
    const id = randomUUID();
    try {
      const gid = await this.orders.place({ orderId: id, accountId: body.accountId, amount: body.amount });
      return { id, status: 'PAID', gid };
    } catch (error) {
      if (error instanceof TransactionOutcomeUnknownError) {
        // Both tries succeeded (the commit is asked only then), so the order exists: PENDING until
        // phase two or the deadline settles it. Checking the database would add nothing.
        reply.status(HttpStatus.ACCEPTED);
        reply.header('location', `/orders/${id}`);
        return { id, status: 'UNKNOWN', gid: error.gid, reason: 'OUTCOME_UNKNOWN', message: 'the payment may or may not have been taken: look the order up' };
      }
      throw await this.failure(id, error);
    }
  }

  /**
   * A transaction known not to commit (the method threw, so it is rolled back, by the initiator or
   * by the deadline; or the commit lost to the deadline). The answer names the order when its try
   * wrote it (it is then cancelled), says `created: false` when the order's database says it was
   * not, and names it with `created: "UNKNOWN"` when that database cannot tell.
   */
  private async failure(id: string, error: unknown): Promise<unknown> {
    let written: boolean | undefined;
    try {
      written = await this.orders.exists(id);
    } catch {
      written = undefined;
    }
    const about = (gid?: string): Record<string, unknown> => {
      const transaction = gid ? { gid } : {};
      if (written === false) return { created: false, ...transaction };
      // Written, or not known (its database did not answer): either way nothing is paid and the
      // order, if it exists, is (or will be) CANCELLED, so name it to look up.
      return { id, status: 'CANCELLED', ...transaction, ...(written === undefined ? { created: 'UNKNOWN' } : {}) };
    };
    if (error instanceof BranchRefusedError) {
      return new ConflictException({ ...about(error.gid), reason: error.code });
    }
    if (error instanceof TransactionAbortedError) {
      return new ConflictException({ ...about(error.gid), reason: 'TRANSACTION_ABORTED' });
    }
    if (error instanceof BranchFailedError) {
      return new HttpException({ ...about(error.gid), reason: 'BRANCH_UNAVAILABLE' }, HttpStatus.BAD_GATEWAY);
    }
    if (error instanceof CoordinatorUnavailableError) {
      return new HttpException({ ...about(), reason: 'COORDINATOR_UNAVAILABLE', message: error.message }, HttpStatus.SERVICE_UNAVAILABLE);
    }
    if (error instanceof CoordinatorError) {
      // The coordinator refused a call this service made: a configuration problem (e.g. a target
      // outside TCC_ALLOWED_TARGETS), not the buyer's; any transaction begun is rolled back.
      return new HttpException({ ...about(), reason: 'COORDINATOR_REFUSED', message: error.message }, HttpStatus.BAD_GATEWAY);
    }
    return error;
  }

  /**
   * `POST /orders/:id/refund`: 200 `{ id, status: "REFUNDED", gid }` when the refund saga committed
   * (the amount is back on the account); 409 `{ id, status, reason: "ORDER_NOT_REFUNDABLE", gid }`
   * when it rolled back (the order is not PAID: never paid, cancelled, or refunded already); 202
   * `{ id, status: "UNKNOWN", gid }` while its outcome is not known; 404 for an unknown order.
   */
  @Post(':id/refund')
  @HttpCode(200)
  async refund(@Param('id') id: string, @Res({ passthrough: true }) reply: StatusReply): Promise<RefundedOrder | UndecidedOrder> {
    const order = await this.orders.get(id);
    try {
      const { gid } = await this.orders.refund(order);
      return { id, status: 'REFUNDED', gid };
    } catch (error) {
      if (error instanceof SagaRolledBackError) {
        const now = await this.orders.get(id);
        throw new ConflictException({ id, status: now.status, reason: 'ORDER_NOT_REFUNDABLE', gid: error.gid, message: `order ${id} is ${now.status}: only a PAID order is refunded` });
      }
      if (error instanceof TransactionOutcomeUnknownError) {
        reply.status(HttpStatus.ACCEPTED);
        return { id, status: 'UNKNOWN', gid: error.gid, reason: 'OUTCOME_UNKNOWN', message: 'the refund may or may not have happened: look the order up' };
      }
      if (error instanceof CoordinatorError) {
        throw new HttpException({ id, status: order.status, reason: 'COORDINATOR_REFUSED', message: error.message }, HttpStatus.BAD_GATEWAY);
      }
      throw error;
    }
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<OrderRow> {
    return this.orders.get(id);
  }
}
