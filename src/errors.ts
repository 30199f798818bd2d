/** The base of every coded hopwatch error: callers branch on `code`, never on the message text. */
export class HopwatchError extends Error {
  readonly code: string

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'HopwatchError'
  }
}

/** What an error code means and what to do about it; every area lists its codes in one table of these. */
export interface ErrorCodeDoc {
  /** What went wrong. */
  meaning: string
  /** What the user should do. */
  fix: string
}
