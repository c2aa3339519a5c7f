/**
 * The saga step "refund credit" (docs/contract.md §9): its action credits a refunded order's amount
 * to the account, its compensation takes that credit back. The barrier makes both safe to repeat
 * and reorder (a compensation with no credit before it does nothing; a credit arriving after its
 * compensation is refused); the credit record makes the compensation take back exactly what was
 * credited, never an amount from its request.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { BranchCall, BranchRefusal, ID_PATTERN, SagaAction, SagaCompensate, TccParticipant, TccReconcile, type BusinessView } from '@tcc/client';
import { AccountErrorCode } from './account.errors';
import { AccountStore } from './account.store';
import { isAmount } from './amount.rules';

export const REFUND_CREDIT = 'refund-credit';

export interface RefundCreditPayload {
  orderId: string;
  accountId: string;
  amount: number;
}

function parsePayload(payload: unknown): RefundCreditPayload {
  const candidate = (payload ?? {}) as Partial<Record<keyof RefundCreditPayload, unknown>>;
  const fields: string[] = (['orderId', 'accountId'] as const).filter((f) => typeof candidate[f] !== 'string' || !ID_PATTERN.test(candidate[f] as string));
  if (!isAmount(candidate.amount)) fields.push('amount');
  if (fields.length > 0) throw new BranchRefusal(AccountErrorCode.INVALID_PAYLOAD, `invalid payload: ${fields.join(', ')}`, 400);
  return candidate as RefundCreditPayload;
}

@TccParticipant(REFUND_CREDIT)
@Injectable()
export class RefundCreditParticipant {
  constructor(private readonly store: AccountStore) {}

  @SagaAction()
  async credit(call: BranchCall, manager: EntityManager): Promise<void> {
    const { orderId, accountId, amount } = parsePayload(call.payload);
    if (!(await this.store.credit(manager, call.gid, call.branchId, accountId, orderId, amount))) {
      throw new BranchRefusal(AccountErrorCode.ACCOUNT_NOT_FOUND, `no account ${accountId}`, 404);
    }
  }

  /** Reconciliation's business view (docs/contract.md §13): the credit row (CREDITED: confirmed, REVERSED: cancelled), or none. */
  @TccReconcile()
  async reconcile(call: BranchCall, manager: EntityManager): Promise<BusinessView> {
    const credit = await this.store.findCredit(manager, call.gid, call.branchId);
    if (!credit) return { state: 'none' };
    return { state: credit.status === 'CREDITED' ? 'confirmed' : 'cancelled', detail: { status: credit.status, accountId: credit.accountId, amount: credit.amount } };
  }

  @SagaCompensate()
  async takeBack(call: BranchCall, manager: EntityManager): Promise<void> {
    const credit = await this.store.findCredit(manager, call.gid, call.branchId);
    if (!credit || credit.status === 'REVERSED') return;
    if (!(await this.store.reverseCredit(manager, call.gid, call.branchId, credit))) {
      // Spent since: retried (the saga keeps ROLLING_BACK, flagged for attention past its age).
      throw new Error(`compensation of ${call.gid}/${call.branchId}: account ${credit.accountId} has less than ${credit.amount} available`);
    }
  }
}
