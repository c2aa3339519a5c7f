/**
 * The TCC branch "account freeze": try freezes the amount, confirm deducts what the try froze,
 * cancel releases it. The barrier (run by the library around each method) makes every call safe to
 * repeat and reorder; the freeze record makes confirm and cancel use the try's own amount.
 */
import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { BranchCall, BranchRefusal, ID_PATTERN, TccCancel, TccConfirm, TccParticipant, TccReconcile, TccTry, type BusinessView } from '@tcc/client';
import { AccountErrorCode } from './account.errors';
import { AccountStore, type FreezeStatus } from './account.store';
import { isAmount } from './amount.rules';

export const ACCOUNT_FREEZE = 'account-freeze';

/** What reconciliation (docs/contract.md §13) reads a freeze row's status as. */
const FREEZE_VIEW: Record<FreezeStatus, BusinessView['state']> = { FROZEN: 'tried', CONFIRMED: 'confirmed', RELEASED: 'cancelled' };

export interface FreezePayload {
  accountId: string;
  amount: number;
}

function parsePayload(payload: unknown): FreezePayload {
  const candidate = (payload ?? {}) as Partial<Record<keyof FreezePayload, unknown>>;
  const fields: string[] = [];
  if (typeof candidate.accountId !== 'string' || !ID_PATTERN.test(candidate.accountId) || candidate.accountId.length > 64) {
    fields.push('accountId');
  }
  if (!isAmount(candidate.amount)) fields.push('amount');
  if (fields.length > 0) {
    throw new BranchRefusal(AccountErrorCode.INVALID_PAYLOAD, `invalid payload: ${fields.join(', ')} (amount: integer 1..10^12)`, 400);
  }
  return candidate as FreezePayload;
}

@TccParticipant(ACCOUNT_FREEZE)
@Injectable()
export class AccountFreezeParticipant {
  private readonly logger = new Logger('AccountFreeze');

  constructor(private readonly store: AccountStore) {}

  @TccTry()
  async freeze(call: BranchCall, manager: EntityManager): Promise<FreezePayload> {
    const { accountId, amount } = parsePayload(call.payload);
    // The freeze record goes first so the hot account row is locked only for the last statement
    // before commit; a refusal rolls the record back with everything else.
    await this.store.recordFreeze(manager, call.gid, call.branchId, accountId, amount);
    if (!(await this.store.freeze(manager, accountId, amount))) {
      // Read only to name the refusal: the decision itself was the conditional UPDATE.
      if (!(await this.store.find(manager, accountId))) {
        throw new BranchRefusal(AccountErrorCode.ACCOUNT_NOT_FOUND, `no account ${accountId}`, 404);
      }
      throw new BranchRefusal(AccountErrorCode.INSUFFICIENT_FUNDS, `account ${accountId} has less than ${amount} available`, 409);
    }
    return { accountId, amount };
  }

  @TccConfirm()
  async deduct(call: BranchCall, manager: EntityManager): Promise<void> {
    const freeze = await this.store.findFreeze(manager, call.gid, call.branchId);
    if (!freeze) throw new Error(`confirm of ${call.gid}/${call.branchId}: no freeze was recorded by a try`);
    if (!(await this.store.settleFreeze(manager, call.gid, call.branchId, 'CONFIRMED'))) {
      if (freeze.status === 'CONFIRMED') return;
      throw new Error(`confirm of ${call.gid}/${call.branchId}: the freeze is already ${freeze.status}`);
    }
    if (!(await this.store.deduct(manager, freeze.accountId, freeze.amount))) {
      throw new Error(`confirm of ${call.gid}/${call.branchId}: account ${freeze.accountId} has less than ${freeze.amount} frozen`);
    }
  }

  @TccCancel()
  async release(call: BranchCall, manager: EntityManager): Promise<void> {
    const freeze = await this.store.findFreeze(manager, call.gid, call.branchId);
    if (!freeze) {
      this.logger.warn({ gid: call.gid, branchId: call.branchId, msg: 'cancel found no freeze to release' });
      return;
    }
    if (!(await this.store.settleFreeze(manager, call.gid, call.branchId, 'RELEASED'))) {
      if (freeze.status === 'RELEASED') return;
      throw new Error(`cancel of ${call.gid}/${call.branchId}: the freeze is already ${freeze.status}`);
    }
    if (!(await this.store.release(manager, freeze.accountId, freeze.amount))) {
      throw new Error(`cancel of ${call.gid}/${call.branchId}: account ${freeze.accountId} has less than ${freeze.amount} frozen`);
    }
  }

  /** Reconciliation's business view: the freeze row of the branch (FROZEN, CONFIRMED, RELEASED), or none. */
  @TccReconcile()
  async reconcile(call: BranchCall, manager: EntityManager): Promise<BusinessView> {
    const freeze = await this.store.findFreeze(manager, call.gid, call.branchId);
    if (!freeze) return { state: 'none' };
    return { state: FREEZE_VIEW[freeze.status], detail: { status: freeze.status, accountId: freeze.accountId, amount: freeze.amount } };
  }
}
