/** Opening and reading accounts. */
import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { runInLocalTransaction, runRead } from '@tcc/client';
import { AccountErrorCode } from './account.errors';
import { AccountStore } from './account.store';

export interface AccountView {
  id: string;
  balance: number;
  frozen: number;
  available: number;
  /** Loyalty points: one per 100 of every paid order, awarded once (a reliable message from the order service). */
  points: number;
}

@Injectable()
export class AccountsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly store: AccountStore,
  ) {}

  async open(id: string, balance: number): Promise<AccountView> {
    const created = await runInLocalTransaction(this.dataSource, (manager) => this.store.create(manager, id, balance));
    if (!created) {
      throw new ConflictException({ statusCode: 409, error: AccountErrorCode.ACCOUNT_EXISTS, message: `account ${id} already exists` });
    }
    return { id, balance, frozen: 0, available: balance, points: 0 };
  }

  async get(id: string): Promise<AccountView> {
    const account = await runRead(this.dataSource, (manager) => this.store.find(manager, id));
    if (!account) {
      throw new NotFoundException({ statusCode: 404, error: AccountErrorCode.ACCOUNT_NOT_FOUND, message: `no account ${id}` });
    }
    return { ...account, available: account.balance - account.frozen };
  }
}
