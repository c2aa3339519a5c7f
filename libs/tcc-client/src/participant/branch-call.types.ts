/** What a participant method receives, and the shape it has. */
import type { EntityManager } from 'typeorm';
import type { BranchPhase, JsonValue } from '../protocol';

export interface BranchCall<P = JsonValue | null> {
  gid: string;
  branchId: string;
  phase: BranchPhase;
  /** The payload given at registration: the same for try, confirm and cancel (action and compensate). */
  payload: P;
}

/**
 * A participant method: the call, and the local transaction's handle of the barrier adapter in use
 * (TypeORM EntityManager by default; Drizzle `tx`, Kysely `Transaction`, pg `PoolClient`, mysql2
 * `PoolConnection` with theirs).
 */
export type BranchMethod<Tx = EntityManager> = (call: BranchCall, tx: Tx) => Promise<unknown> | unknown;
