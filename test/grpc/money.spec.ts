/**
 * Real money under faults, over gRPC: the money test of the client issue (test/client/money.spec.ts)
 * with the account branch called over gRPC (try by the order service, confirm and cancel by the
 * coordinator) and the order service talking to the coordinator over gRPC. 200 concurrent orders
 * over 10 accounts on MariaDB, random amounts (some beyond the balance), while a gRPC proxy in front
 * of the account service fails 10% of confirms and cancels on their first attempt, before or after
 * forwarding. Every gRPC hop runs over TLS with client certificates (certificates made by the test)
 * and every participant call is signed. After convergence the books must balance to the cent
 * (test/client/support/money.fixture.ts).
 */
import { rmSync } from 'node:fs';
import { participantGrpcService } from '@tcc/client';
import { placeOrdersAndCheckBooks, useMoneyStack } from '../client/support/money.fixture';
import { coordinatorTlsEnv, makePki, type Pki } from '../support/pki';
import { startFaultyGrpcProxy, type FaultyGrpcProxy } from './support/faulty-grpc.proxy';

const ACCOUNTS = 10;
const ORDERS = 200;

describe(`money over gRPC: ${ORDERS} concurrent orders over ${ACCOUNTS} accounts with failing gRPC confirms and cancels (MariaDB)`, () => {
  let pki: Pki | undefined;
  const money = useMoneyStack<FaultyGrpcProxy>(
    (keep) => {
      // TLS with client certificates on every gRPC hop, and every participant call signed.
      const certificates = (pki = makePki());
      const key = { TCC_SIGNING_KEYS: 'grpc-money-key-0123456789' };
      return {
        store: 'mariadb',
        coordinatorEnv: {
          ...key,
          ...coordinatorTlsEnv(certificates),
        },
        accountEnv: {
          ...key,
          ACCOUNT_GRPC_TLS_CERT: certificates.path('server.crt'),
          ACCOUNT_GRPC_TLS_KEY: certificates.path('server.key'),
          ACCOUNT_GRPC_TLS_CLIENT_CA: certificates.path('ca.crt'),
        },
        orderEnv: {
          ...key,
          ACCOUNT_BRANCH_PROTOCOL: 'grpc',
          TCC_COORDINATOR_TRANSPORT: 'grpc',
          TCC_TLS_CA: certificates.path('ca.crt'),
          TCC_TLS_CERT: certificates.path('client.crt'),
          TCC_TLS_KEY: certificates.path('client.key'),
        },
        accountGrpcAddressFor: async (account) =>
          keep(
            await startFaultyGrpcProxy(
              account.grpcAddress,
              participantGrpcService('account-freeze'),
              0.1,
              {
                server: { cert: certificates.serverCert, key: certificates.serverKey, clientCa: certificates.ca },
                upstream: { ca: certificates.ca, cert: certificates.clientCert, key: certificates.clientKey },
              },
              // The refund saga's credit step and the loyalty-points consumer, over gRPC too.
              [
                { service: participantGrpcService('refund-credit'), methods: ['Action', 'Compensate'] },
                { service: participantGrpcService('loyalty-points'), methods: ['Message'] },
              ],
            ),
          ).address,
      };
    },
    () => {
      if (pki) rmSync(pki.dir, { recursive: true, force: true });
    },
  );

  it('converges with every balance equal to its opening balance minus its PAID orders and nothing frozen', () =>
    placeOrdersAndCheckBooks(money, {
      label: 'money over gRPC',
      accounts: ACCOUNTS,
      orders: ORDERS,
      // The faults are on the gRPC branch: its retries are the ones that count.
      faultyBranch: 'account-freeze',
      checkTransaction: (view) => expect(view.branches.find((b) => b.branchId === 'account-freeze')?.protocol).toBe('grpc'),
    }));
});
