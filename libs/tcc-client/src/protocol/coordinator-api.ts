/** Request and response bodies of the coordinator's HTTP API v1 (docs/contract.md §3). */
import type { BranchStatus, GlobalStatus } from './status';

export type Protocol = 'http' | 'grpc';
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface BeginRequest {
  gid?: string;
  timeoutMs?: number;
  metadata?: Record<string, JsonValue>;
}

export interface BeginResponse {
  gid: string;
  status: GlobalStatus;
  createdAt: string;
  expiresAt: string;
}

export interface RegisterBranchRequest {
  branchId: string;
  participant?: string;
  protocol: Protocol;
  confirm: string;
  cancel: string;
  payload?: JsonValue;
}

export interface RegisterBranchResponse {
  gid: string;
  branchId: string;
  status: BranchStatus;
}

export interface CommitRequest {
  wait?: boolean;
}

export interface RollbackRequest {
  wait?: boolean;
  reason?: string;
}

export interface DecisionResponse {
  gid: string;
  status: GlobalStatus;
}

export interface BranchView {
  branchId: string;
  participant: string | null;
  protocol: Protocol;
  status: BranchStatus;
  attempts: number;
  lastError: string | null;
}

export interface TransactionView {
  gid: string;
  status: GlobalStatus;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  metadata: Record<string, JsonValue> | null;
  branches: BranchView[];
}

/** Every error the coordinator answers has this shape; 409s carry the current `status`. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  /** Offending fields of a 400. */
  fields?: string[];
  /** Current status of the transaction, on a 409. */
  status?: GlobalStatus;
}
