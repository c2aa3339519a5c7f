/**
 * Flags a transaction whose phase two keeps failing past TCC_ATTENTION_AFTER_MS, or at once when a
 * participant answers BRANCH_NOT_TRIED (a confirm for a branch whose try never happened: the
 * decision and the participant disagree, which no retry mends): it shows in the admin list with
 * its reason and in the `tcc_attention_transactions` gauge, and TCC_ALERT_WEBHOOK_URL (if set)
 * gets one POST `{ gid, status, branchId, lastError, attempts, reason }`. The transaction keeps
 * being retried, unless a branch spent its retry budget (budgetSpent): then it waits for a person.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { request } from 'undici';
import { BRANCH_NOT_TRIED, type GlobalStatus } from '@tcc/client/protocol';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config';
import { LeaseStore } from '../store/lease.store';
import { MetricsService } from '../metrics/metrics.service';

export interface FailingBranch {
  branchId: string;
  lastError: string;
  attempts: number;
  /** The participant answered BRANCH_NOT_TRIED: flag now, not after TCC_ATTENTION_AFTER_MS. */
  notTried?: boolean;
}

const WEBHOOK_TIMEOUT_MS = 5_000;
const WEBHOOK_TRIES = 3;

@Injectable()
export class AttentionNotifier {
  private readonly logger = new Logger(AttentionNotifier.name);

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    private readonly store: LeaseStore,
    private readonly metrics: MetricsService,
  ) {}

  /** Called after a failed round; flags (once) and alerts when the transaction is old enough, or at once for BRANCH_NOT_TRIED. */
  async afterFailedRound(gid: string, status: GlobalStatus, worst: FailingBranch): Promise<void> {
    const { notTried, ...branch } = worst;
    const reason = notTried
      ? `${BRANCH_NOT_TRIED}: branch ${worst.branchId} answered that its try never happened, yet the transaction is ${status}`
      : `${status} for over ${this.config.attentionAfterMs} ms, branch ${worst.branchId} failed ${worst.attempts} times: ${worst.lastError}`;
    if (!(await this.store.flagAttention(gid, notTried ? 0 : this.config.attentionAfterMs, reason))) return;
    this.metrics.attentionAlerts.inc({ reason: notTried ? BRANCH_NOT_TRIED : 'failing' });
    this.logger.warn({ gid, branchId: worst.branchId, msg: `needs attention: ${reason}` });
    if (this.config.alertWebhookUrl) void this.sendWebhook(this.config.alertWebhookUrl, { gid, status, ...branch, reason });
  }

  /**
   * A branch spent its retry budget and the store parked the transaction (flagged, no next attempt;
   * that write happens once): counts it, logs it and sends the same webhook body as any flag.
   */
  budgetSpent(gid: string, status: GlobalStatus, mode: string, spent: { branchId: string; failures: number; lastError: string; reason: string }): void {
    this.metrics.retryBudgetSpent.inc({ mode });
    this.metrics.attentionAlerts.inc({ reason: 'budget' });
    this.logger.warn({ gid, branchId: spent.branchId, msg: `needs attention: ${spent.reason}` });
    if (this.config.alertWebhookUrl) {
      void this.sendWebhook(this.config.alertWebhookUrl, { gid, status, branchId: spent.branchId, lastError: spent.lastError, attempts: spent.failures, reason: spent.reason });
    }
  }

  /**
   * A mismatch found by reconciliation (docs/contract.md §13): logged, and one POST to
   * TCC_ALERT_WEBHOOK_URL `{ kind: 'reconciliation-mismatch', runId, gid, branchId, mismatch, coordinator, participant }`.
   * Changes nothing: the transaction is finished, a person must look.
   */
  reconciliationMismatch(alert: { runId: string; gid: string; branchId: string; mismatch: string; coordinator: unknown; participant: unknown }): void {
    this.logger.warn({ gid: alert.gid, branchId: alert.branchId, runId: alert.runId, msg: `reconciliation mismatch ${alert.mismatch}` });
    if (this.config.alertWebhookUrl) void this.sendWebhook(this.config.alertWebhookUrl, { kind: 'reconciliation-mismatch', ...alert });
  }

  private async sendWebhook(url: string, body: Record<string, unknown>): Promise<void> {
    for (let attempt = 1; attempt <= WEBHOOK_TRIES; attempt++) {
      try {
        const res = await request(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
        });
        await res.body.dump();
        if (res.statusCode < 300) return;
        this.logger.warn({ gid: String(body.gid), msg: `alert webhook answered ${res.statusCode}` });
      } catch (error) {
        this.logger.warn({ gid: String(body.gid), msg: `alert webhook failed: ${(error as Error).message}` });
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000 * attempt).unref());
    }
  }
}
