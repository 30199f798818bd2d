/**
 * The base of every coded hopwatch error: callers branch on `code`, never on the message text. An area declares its
 * error as `class StoreError extends HopwatchError<StoreErrorCode> {}`: the code type is its table's keys, and the
 * name is the subclass's own.
 */
export class HopwatchError<Code extends string = string> extends Error {
  readonly code: Code

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** What an error code means and what to do about it; every area lists its codes in one table of these. */
export interface ErrorCodeDoc {
  /** What went wrong. */
  meaning: string
  /** What the user should do. */
  fix: string
}
