/**
 * Every error logship raises on purpose is a LogshipError: a stable `code` for metrics and
 * tests, and a `context` object for the structured log line. Each box defines its own
 * subclasses next to the code that throws them.
 */
export class LogshipError extends Error {
  readonly code: string;
  readonly context: Record<string, unknown>;
  constructor(code: string, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.context = context;
  }
}
