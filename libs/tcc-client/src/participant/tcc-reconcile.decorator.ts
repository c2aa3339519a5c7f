/**
 * `@TccReconcile()` marks the one optional method of a participant class that tells reconciliation
 * (docs/contract.md §13) what its business tables say of a branch: it receives the call
 * (`{ gid, branchId, phase: 'reconcile', payload: null }`) and the handle of a local transaction
 * that also reads the barrier rows answered with it, and returns a BusinessView
 * (`{ state: 'tried' | 'confirmed' | 'cancelled' | 'none', detail? }`). It must only read.
 */
import { SetMetadata } from '@nestjs/common';
import { TCC_RECONCILE } from './participant.metadata';

export const TccReconcile = (): MethodDecorator => SetMetadata(TCC_RECONCILE, true);
