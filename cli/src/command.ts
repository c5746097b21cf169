// What a command is, and what it gets to run: the parsed command line, a lazily built admin client
// (so `--help` and `login` work without a configured router), the output streams and a stop signal.
import type { AdminClient } from "./admin-client.ts";
import type { OptionSpec, Parsed } from "./args.ts";
import { usageError } from "./cli-error.ts";
import type { Io } from "./output.ts";
import type { CliEnv, Connection } from "./settings.ts";

export interface Context {
  io: Io;
  env: CliEnv;
  /** Resolves the router and token (flags, env, config file, local stack) and returns a client. */
  connect(): { client: AdminClient; connection: Connection };
  /** Aborted on Ctrl-C: long-running commands stop cleanly. */
  signal: AbortSignal;
}

export interface Command {
  /** One or two words: "events", "endpoints list". */
  name: string;
  /** Other names for it ("ep list"). */
  aliases?: string[];
  /** Positional arguments, for the usage line: "<name>", "[endpoint]". */
  args: string;
  summary: string;
  options?: OptionSpec;
  /** Flag descriptions and examples, for `--help`. */
  details?: string;
  run(ctx: Context, parsed: Parsed): Promise<void>;
}

/** The endpoint a command acts on: the first positional, else the default (GPUCTL_ENDPOINT, login, local stack). */
export function endpointArg(parsed: Parsed, connection: Connection, command: string): string {
  const name = parsed.positionals[0] ?? connection.endpoint;
  if (!name) throw usageError("which endpoint?", `name it: \`gpuctl ${command} <endpoint>\` (see \`gpuctl endpoints list\`), or set GPUCTL_ENDPOINT`);
  return name;
}

/** Refuses positionals beyond `max`: a typo should not be silently ignored. */
export function maxPositionals(parsed: Parsed, max: number, command: string): void {
  if (parsed.positionals.length > max) {
    throw usageError(`unexpected argument '${parsed.positionals[max]}'`, `see \`gpuctl ${command} --help\``);
  }
}

/** Waits `ms`, or less if `signal` aborts first (Ctrl-C ends a wait at once). */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });
}
