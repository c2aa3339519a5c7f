/** Coordinator schema migrations, in order. Listed explicitly: the app is bundled, globs do not survive. */
import { CreateTransactions1732300000000 } from './1732300000000-create-transactions';
import { LeasesAttentionCoordination1732400000000 } from './1732400000000-leases-attention-coordination';
import { AuditAndFailures1732500000000 } from './1732500000000-audit-and-failures';
import { Traceparent1732600000000 } from './1732600000000-traceparent';
import { ClientAndAttentionReason1732700000000 } from './1732700000000-client-and-attention-reason';
import { BranchCount1732800000000 } from './1732800000000-branch-count';
import { Modes1732900000000 } from './1732900000000-modes';
import { Callbacks1733000000000 } from './1733000000000-callbacks';
import { RetryBudget1733100000000 } from './1733100000000-retry-budget';
import { Reconciliation1733200000000 } from './1733200000000-reconciliation';

export const coordinatorMigrations = [
  CreateTransactions1732300000000,
  LeasesAttentionCoordination1732400000000,
  AuditAndFailures1732500000000,
  Traceparent1732600000000,
  ClientAndAttentionReason1732700000000,
  BranchCount1732800000000,
  Modes1732900000000,
  Callbacks1733000000000,
  RetryBudget1733100000000,
  Reconciliation1733200000000,
];
