/**
 * The built coordinator (dist/apps/coordinator/main.js, see test/support/coordinator.process) as
 * the operate specs use it: a child process on a test database, with the admin token set, plus
 * clients for the public API and the operating surface.
 *
 * A process rather than the app in the test process: this is what operators run, and jest
 * cannot load @fastify/static's ESM-only dependency (content-disposition 3) that /docs needs.
 */
import { CoordinatorApi } from '../../support/coordinator.api';
import { CoordinatorProcess, type Env } from '../../support/coordinator.process';
import { randomSuffix } from '../../support/wait';
import { OperateClient } from './admin.client';

/** A token of the accepted shape (16+ characters, no spaces), different on every run. */
export const newAdminToken = (): string => `operate-${randomSuffix(24)}`;

export interface OperateCoordinator {
  url: string;
  process: CoordinatorProcess;
  /** Public API v1. */
  api: CoordinatorApi;
  /** Admin API, metrics, health and docs, with the admin token. */
  admin: OperateClient;
  close(): Promise<void>;
}

export async function startOperateCoordinator(env: Env): Promise<OperateCoordinator> {
  const child = new CoordinatorProcess({
    TCC_HOST: '127.0.0.1',
    TCC_HTTP_PORT: '0',
    TCC_GRPC_PORT: '0',
    TCC_MIGRATE_ON_START: 'true',
    TCC_LOG_LEVEL: 'warn',
    ...env,
  });
  await child.start();
  const api = new CoordinatorApi(child.url);
  const admin = new OperateClient(child.url, env.TCC_ADMIN_TOKEN);
  let closed = false;
  return {
    url: child.url,
    process: child,
    api,
    admin,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await child.kill('SIGTERM');
      } catch {
        await child.stop();
      } finally {
        await api.close();
        await admin.close();
      }
    },
  };
}
