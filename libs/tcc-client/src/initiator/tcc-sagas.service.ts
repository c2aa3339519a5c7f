/**
 * What business code injects to run sagas (docs/contract.md §9): `saga(options)` builds one, whose
 * `submit` hands it to the coordinator; `waitForOutcome(gid)` reads the end of one whose outcome
 * was not known yet (SagaOutcomeUnknownError).
 */
import { Injectable } from '@nestjs/common';
import { CoordinatorClient } from '../client/coordinator.client';
import { newGid } from './gid';
import { waitForOutcome, type FinalStatus, type WaitForOutcomeOptions } from './outcome.waiter';
import { ParticipantTargets } from './participant-targets';
import { SagaBuilder, type SagaOptions } from './saga.builder';

@Injectable()
export class TccSagas {
  constructor(
    private readonly coordinator: CoordinatorClient,
    private readonly targets: ParticipantTargets,
  ) {}

  /** A new saga; add its steps with `step`, then `submit`. */
  saga(options: SagaOptions = {}): SagaBuilder {
    return new SagaBuilder(options.gid ?? newGid(), options, this.coordinator, this.targets);
  }

  /**
   * The final status of saga `gid` (COMMITTED or ROLLED_BACK), read with backoff; throws
   * TransactionOutcomeUnknownError when it is not final within `timeoutMs` (default 30 s), and the
   * coordinator's 404 (CoordinatorError) for a saga it never recorded.
   */
  waitForOutcome(gid: string, options?: WaitForOutcomeOptions): Promise<FinalStatus> {
    return waitForOutcome(this.coordinator, gid, options);
  }
}
