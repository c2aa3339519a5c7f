/**
 * Placing an order: one global transaction with two branches, the order itself and the account
 * freeze (over HTTP or gRPC, ACCOUNT_BRANCH_PROTOCOL). The decorator begins, commits or rolls back;
 * this code only says what the order is. Refunding one: a saga of two steps, the order marked
 * REFUNDED (refused unless PAID) and the amount credited back to the account, each with its
 * compensation.
 */
import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TccInitiator, TccSagas, TccTransactional, runRead, type SagaSubmitted } from '@tcc/client';
import type { OrderConfig } from '../config/order.config';
import { ORDER_CONFIG } from './order.config.token';
import { ORDER_BRANCH, OrderPayload } from './order.participant';
import { OrderRow, OrderStore } from './order.store';
import { ORDER_REFUND } from './order-refund.participant';

export const ACCOUNT_FREEZE = 'account-freeze';
export const REFUND_CREDIT = 'refund-credit';

@Injectable()
export class OrdersService {
  constructor(
    private readonly tcc: TccInitiator,
    private readonly sagas: TccSagas,
    private readonly dataSource: DataSource,
    private readonly store: OrderStore,
    @Inject(ORDER_CONFIG) private readonly config: OrderConfig,
  ) {}

  /** Answers the gid of the committed transaction; throws (after rollback) when a try refused. */
  @TccTransactional()
  async place(order: OrderPayload): Promise<string> {
    await this.tcc.branch({ participant: ORDER_BRANCH, payload: { ...order } });
    const grpc = this.config.accountBranchProtocol === 'grpc';
    await this.tcc.branch({
      participant: ACCOUNT_FREEZE,
      protocol: this.config.accountBranchProtocol,
      service: grpc ? this.config.accountServiceGrpcAddress : this.config.accountServiceUrl,
      payload: { accountId: order.accountId, amount: order.amount },
    });
    return this.tcc.gid;
  }

  /**
   * Refunds a paid order: resolves when the saga COMMITTED; throws SagaRolledBackError when a step
   * refused (the order is not PAID), SagaOutcomeUnknownError when it is still running.
   */
  async refund(order: OrderRow): Promise<SagaSubmitted> {
    const grpc = this.config.accountBranchProtocol === 'grpc';
    return this.sagas
      .saga({ timeoutMs: this.config.transactionTimeoutMs, metadata: { orderId: order.id, kind: 'refund' } })
      .step({ participant: ORDER_REFUND, branchId: 'order', payload: { orderId: order.id } })
      .step({
        participant: REFUND_CREDIT,
        branchId: 'credit',
        protocol: this.config.accountBranchProtocol,
        service: grpc ? this.config.accountServiceGrpcAddress : this.config.accountServiceUrl,
        payload: { orderId: order.id, accountId: order.accountId, amount: order.amount },
      })
      .submit({ wait: true });
  }

  /** Whether the order's try wrote it. */
  async exists(id: string): Promise<boolean> {
    return (await runRead(this.dataSource, (manager) => this.store.find(manager, id))) !== undefined;
  }

  async get(id: string): Promise<OrderRow> {
    const order = await runRead(this.dataSource, (manager) => this.store.find(manager, id));
    if (!order) throw new NotFoundException({ statusCode: 404, error: 'ORDER_NOT_FOUND', message: `no order ${id}` });
    return order;
  }
}
