/** Starts the example services in this process as real servers (HTTP, and the account service's gRPC) on random ports. */
import { createAccountService, type RunningAccountService } from '../../../apps/account-service/src/bootstrap';
import { createOrderService, type RunningOrderService } from '../../../apps/order-service/src/bootstrap';

export type Env = Record<string, string | undefined>;

export function startAccountService(env: Env): Promise<RunningAccountService> {
  return createAccountService({ ACCOUNT_HOST: '127.0.0.1', ACCOUNT_HTTP_PORT: '0', ACCOUNT_GRPC_PORT: '0', ACCOUNT_LOG_LEVEL: 'error', ...env });
}

export function startOrderService(env: Env): Promise<RunningOrderService> {
  return createOrderService({ ORDER_HOST: '127.0.0.1', ORDER_HTTP_PORT: '0', ORDER_LOG_LEVEL: 'error', ...env });
}
