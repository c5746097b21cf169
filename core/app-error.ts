// One error type for every Worker and the agent: a public message for the client, a private
// detail for the log. Unknown errors never reach the client beyond a generic 500.

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 499 | 500 | 502 | 503 | 504;

export class AppError extends Error {
  constructor(
    readonly status: ErrorStatus,
    readonly code: string,
    message: string,
    /** Logged, never sent. */
    readonly detail?: unknown,
    /** Extra response headers (e.g. Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const badRequest = (message: string, detail?: unknown) => new AppError(400, "bad_request", message, detail);
export const unauthorized = (detail?: unknown) => new AppError(401, "unauthorized", "Authentication failed", detail);
export const notFound = (message: string) => new AppError(404, "not_found", message);
