/**
 * Real money under faults: 200 concurrent orders over 10 accounts on MariaDB, random amounts (some
 * beyond the balance), while a proxy in front of the account service fails 10% of confirms and
 * cancels on their first attempt. After convergence the books must balance to the cent
 * (support/money.fixture.ts, shared with test/grpc/money.spec.ts).
 */
import { randomId } from './support/databases';
import { startFaultyProxy, type FaultyProxy } from './support/faulty-proxy';
import { placeOrdersAndCheckBooks, useMoneyStack } from './support/money.fixture';
import type { StoreKind } from './support/stack';

describe.each([
  { store: 'mariadb' as StoreKind, ACCOUNTS: 10, ORDERS: 200 },
  // The account and order services on PostgreSQL (READ COMMITTED), the same faults and checks, and
  // every participant call signed (TCC_SIGNING_KEYS on all three).
  { store: 'postgres' as StoreKind, ACCOUNTS: 10, ORDERS: 200, signed: true },
  // The embedded default serialises local transactions; a smaller run proves it under the same faults.
  { store: 'sqlite' as StoreKind, ACCOUNTS: 4, ORDERS: 60 },
])('money: $ORDERS concurrent orders over $ACCOUNTS accounts with failing confirms and cancels ($store)', ({ store, ACCOUNTS, ORDERS, signed }) => {
  const money = useMoneyStack<FaultyProxy>((keep) => {
    const keys = signed ? { TCC_SIGNING_KEYS: 'money-test-key-0123456789' } : {};
    return {
      store,
      coordinatorEnv: keys,
      accountEnv: keys,
      orderEnv: keys,
      accountUrlFor: async (account) => keep(await startFaultyProxy(account.url, 0.1)).url,
    };
  });

  it('converges with every balance equal to its opening balance minus its PAID orders and nothing frozen', () =>
    placeOrdersAndCheckBooks(money, { label: `money (${store})`, accounts: ACCOUNTS, orders: ORDERS }));

  (signed ? it : it.skip)('refuses an unsigned call on that same account service (the signatures above were checked)', async () => {
    const gid = `unsigned-${randomId(8)}`;
    const answer = await money.http.post(`${money.stack.account.url}/tcc/account-freeze/cancel`, { gid, branchId: 'freeze', phase: 'cancel', payload: null });
    expect(answer.status).toBe(401);
  });
});
