/** What business code says to run one branch of the current global transaction. */
import type { JsonValue } from '../protocol';

export interface BranchOptions {
  /** Participant name as declared with @TccParticipant(), e.g. `account-freeze`. */
  participant: string;
  /** Base URL of the service hosting the participant. Default: this service's own URL. */
  service?: string;
  /** Unique within the transaction. Default: the participant name. */
  branchId?: string;
  /** Handed to try as is, and back to confirm and cancel by the coordinator. */
  payload?: JsonValue;
  /** Explicit endpoints, for participants that are not built with this library. */
  urls?: { try: string; confirm: string; cancel: string };
}
