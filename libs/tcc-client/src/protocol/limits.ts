/** Syntax rules of the wire contract (docs/contract.md §3): both sides validate with the same constants. */

/** Characters allowed in a gid and a branchId. */
export const ID_PATTERN = /^[A-Za-z0-9_.:-]+$/;
export const GID_MAX_LENGTH = 128;
export const BRANCH_ID_MAX_LENGTH = 64;
export const PARTICIPANT_MAX_LENGTH = 128;
export const TARGET_MAX_LENGTH = 2048;
export const REASON_MAX_LENGTH = 1024;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/**
 * The most of a participant's answer (HTTP body, gRPC reply) a caller reads: past it the call is
 * `failed` (or `refused`, by its status) and the rest is never buffered.
 */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** Bounds of a retry budget (docs/contract.md §2.1): `retryFor` up to 30 days, `maxAttempts` up to a million. */
export const MAX_RETRY_FOR_MS = 30 * 24 * 60 * 60 * 1000;
export const MAX_ATTEMPTS_LIMIT = 1_000_000;
