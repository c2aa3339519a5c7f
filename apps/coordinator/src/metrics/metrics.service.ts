/**
 * Prometheus metrics (prom-client), every name prefixed `tcc_`. Counters and histograms are
 * updated where things happen; gauges about stored state are computed when scraped.
 */
import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { QueryStore } from '../store/query.store';
import { CallbackStore } from '../store/callback.store';

/** The statuses in which each mode is unfinished (docs/contract.md §2, §9, §10). */
const OPEN_STATUSES: [string, string[]][] = [
  ['tcc', ['TRYING', 'COMMITTING', 'ROLLING_BACK']],
  ['saga', ['COMMITTING', 'ROLLING_BACK']],
  ['message', ['PREPARED', 'COMMITTING']],
];

@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly transactions = new Counter({
    name: 'tcc_transactions_total',
    help: 'Global transactions finished, by outcome (committed, rolled_back) and mode (tcc, saga, message)',
    labelNames: ['outcome', 'mode'] as const,
    registers: [this.registry],
  });

  readonly phaseTwoCalls = new Counter({
    name: 'tcc_phase_two_calls_total',
    help: 'Confirm and cancel calls to participants, by phase and outcome (success, failure)',
    labelNames: ['phase', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly phaseTwoLatency = new Histogram({
    name: 'tcc_phase_two_call_duration_seconds',
    help: 'Duration of confirm and cancel calls, by phase and outcome',
    labelNames: ['phase', 'outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly recoveryScans = new Counter({
    name: 'tcc_recovery_scans_total',
    help: 'Scheduler scans run by this replica',
    registers: [this.registry],
  });

  readonly recoveryClaims = new Counter({
    name: 'tcc_recovery_claims_total',
    help: 'Transactions claimed by the scheduler, by kind (timeout, retry, query: a prepared message asked about)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly redisUp = new Gauge({
    name: 'tcc_redis_up',
    help: '1 when Redis coordination is configured and reachable, 0 when configured and down (database leases alone)',
    registers: [this.registry],
  });

  readonly scanLeader = new Gauge({
    name: 'tcc_scan_leader',
    help: '1 when this replica holds the scan leadership (always 1 without Redis: every replica scans)',
    registers: [this.registry],
  });

  readonly attentionAlerts = new Counter({
    name: 'tcc_attention_alerts_total',
    help: 'Transactions flagged for attention by this replica, by reason (failing: phase two failing past TCC_ATTENTION_AFTER_MS; BRANCH_NOT_TRIED: a participant said the branch was never tried; budget: a branch spent its retry budget)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  /** The exact name alert rules use (docs/contract.md §7). */
  readonly retryBudgetSpent = new Counter({
    name: 'tcc_retry_budget_spent_total',
    help: 'Transactions parked for a person by this replica because a branch spent its retry budget (retryFor / maxAttempts), by mode',
    labelNames: ['mode'] as const,
    registers: [this.registry],
  });

  readonly authRefusals = new Counter({
    name: 'tcc_api_auth_refusals_total',
    help: 'v1 API calls refused before they ran (401), by transport and reason (missing, wrong-key, bad-certificate, not-loopback)',
    labelNames: ['transport', 'reason'] as const,
    registers: [this.registry],
  });

  readonly begun = new Counter({
    name: 'tcc_transactions_begun_total',
    help: 'Global transactions begun (sagas started, messages prepared), by the client that owns them and mode',
    labelNames: ['client', 'mode'] as const,
    registers: [this.registry],
  });

  readonly ownerRefusals = new Counter({
    name: 'tcc_api_owner_refusals_total',
    help: "v1 API calls refused (403) because they named another client's transaction",
    registers: [this.registry],
  });

  /** Reconciliation (docs/contract.md §13); alert rules use these names. */
  readonly reconciliationMismatches = new Counter({
    name: 'tcc_reconciliation_mismatches_total',
    help: 'Branches whose participant disagrees with the coordinator, found by reconciliation runs of this replica, by kind (MISSING_CONFIRM, CONFIRMED_BUT_ROLLED_BACK, BUSINESS_MISMATCH, ...)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly reconciliationChecked = new Counter({
    name: 'tcc_reconciliation_checked_total',
    help: 'Finished transactions checked by reconciliation runs of this replica',
    registers: [this.registry],
  });

  readonly reconciliationRuns = new Counter({
    name: 'tcc_reconciliation_runs_total',
    help: 'Reconciliation runs ended by this replica, by outcome (clean, mismatches, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly callbacks = new Counter({
    name: 'tcc_callbacks_total',
    help: 'Completion callback deliveries attempted by this replica, by outcome (delivered, failed: retried later)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly reconciliationUnreachable = new Counter({
    name: 'tcc_reconciliation_unreachable_total',
    help: 'Branches whose participant did not answer a reconciliation query after retries (not a mismatch of the books)',
    registers: [this.registry],
  });

  constructor(store: QueryStore, callbacks: CallbackStore) {
    collectDefaultMetrics({ register: this.registry, prefix: 'tcc_process_' });
    new Gauge({
      name: 'tcc_callbacks_pending',
      help: 'Completion callbacks owed and not yet delivered (their transaction is final)',
      registers: [this.registry],
      async collect() {
        this.set(await callbacks.countPending());
      },
    });
    // The two gauges below read the same summary: one query per scrape, shared while it runs.
    let pending: ReturnType<QueryStore['openSummary']> | null = null;
    const openSummary = (): ReturnType<QueryStore['openSummary']> => {
      pending ??= store.openSummary().finally(() => setImmediate(() => (pending = null)));
      return pending;
    };
    new Gauge({
      name: 'tcc_attention_transactions',
      help: 'Unfinished transactions whose phase two has kept failing past TCC_ATTENTION_AFTER_MS',
      registers: [this.registry],
      async collect() {
        this.set(await store.countAttention());
      },
    });
    new Gauge({
      name: 'tcc_open_transactions',
      help: 'Unfinished transactions, by mode (tcc, saga, message) and status',
      labelNames: ['mode', 'status'] as const,
      registers: [this.registry],
      async collect() {
        const summary = await openSummary();
        this.reset();
        for (const [mode, statuses] of OPEN_STATUSES) {
          for (const status of statuses) this.set({ mode, status }, summary.byStatus[`${mode}/${status}`] ?? 0);
        }
      },
    });
    new Gauge({
      name: 'tcc_oldest_open_transaction_age_seconds',
      help: 'Age of the oldest unfinished transaction (0 when none)',
      registers: [this.registry],
      async collect() {
        const summary = await openSummary();
        this.set(summary.oldestCreatedAt === null ? 0 : Math.max(0, (summary.now - summary.oldestCreatedAt) / 1000));
      },
    });
  }
}
