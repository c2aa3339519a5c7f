/**
 * The answer of the queryPrepared endpoint this library hosts for a message initiator (docs/contract.md
 * §10): whether the initiator's local transaction of message `gid` committed, read from its prepared
 * barrier row in a local transaction of its own (BranchBarrier.queryPrepared). Served over HTTP by
 * the participant controller (`POST /<prefix>/query-prepared`) and over gRPC by the participant gRPC
 * server (`tcc.v1.Initiator/QueryPrepared`).
 */
import { Injectable, Logger } from '@nestjs/common';
import { BranchBarrier, type PreparedOutcome } from '../barrier/branch.barrier';
import { ParticipantDatabase } from '../participant/participant-database.provider';
import { runLocalTransaction } from '../sql/local-transaction.runner';

@Injectable()
export class PreparedQuery {
  private readonly logger = new Logger('TccMessages');
  private barrier: BranchBarrier | undefined;

  constructor(private readonly database: ParticipantDatabase) {}

  /** COMMITTED or ROLLED_BACK; waits for the initiator's local transaction while it is open. */
  async answer(gid: string): Promise<PreparedOutcome> {
    const database = this.database.get();
    const barrier = (this.barrier ??= new BranchBarrier(database.dialect));
    const outcome = await runLocalTransaction(database, (sql) => barrier.queryPrepared(sql, gid));
    this.logger.log({ gid, msg: `queryPrepared answered ${outcome}` });
    return outcome;
  }
}
