/** Thrown by a try to refuse for a business reason: the try answers `statusCode` (4xx) with `code`. */
export class BranchRefusal extends Error {
  override readonly name = 'BranchRefusal';

  constructor(
    /** Machine-readable reason, e.g. `INSUFFICIENT_FUNDS`; the initiator sees it as the error code. */
    readonly code: string,
    message: string = code,
    readonly statusCode = 409,
  ) {
    super(message);
    if (statusCode < 400 || statusCode > 499) throw new Error(`a BranchRefusal answers a 4xx, not ${statusCode}`);
  }
}
