// The CLI's one error type and its exit codes. Every failure tells what went wrong and what to do,
// and exits with a code a script can act on (docs/operator.md lists them).

export const EXIT = {
  ok: 0,
  /** The router failed (5xx) or something unexpected happened. */
  failed: 1,
  /** The command line or an input was wrong: unknown command or flag, a bad value, a body the API refused (400). */
  usage: 2,
  /** No router URL or admin token found, the config file is unreadable, or the token was refused (401). */
  auth: 3,
  /** No such endpoint, key or worker group (404). */
  notFound: 4,
  /** The name is taken (409). */
  conflict: 5,
  /** The router could not be reached. */
  unreachable: 6,
  /** Waited too long: `wait-ready` or `call` ran past --timeout. */
  timeout: 7,
  /** Stopped by Ctrl-C before the command finished its job (the shell's convention: 128 + SIGINT). */
  interrupted: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    /** What to do about it, printed on its own line. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export const usageError = (message: string, hint?: string) => new CliError(EXIT.usage, message, hint);
