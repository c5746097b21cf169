// gpuctl's entry: finds the command, parses its flags, runs it, and turns every failure into a message
// on stderr and a meaningful exit code. Takes its environment as arguments so tests run it in-process.
import { adminClient } from "./admin-client.ts";
import { parse } from "./args.ts";
import { CliError, EXIT, usageError } from "./cli-error.ts";
import type { Command, Context } from "./command.ts";
import { callCommands } from "./commands/call.ts";
import { endpointCommands } from "./commands/endpoints.ts";
import { eventCommands } from "./commands/events.ts";
import { groupCommands } from "./commands/groups.ts";
import { keyCommands } from "./commands/keys.ts";
import { loginCommands } from "./commands/login.ts";
import { workerCommands } from "./commands/workers.ts";
import { commandHelp, mainHelp } from "./help.ts";
import type { Io } from "./output.ts";
import { parseEnv, resolveConnection } from "./settings.ts";

export const COMMANDS: readonly Command[] = [...endpointCommands, ...groupCommands, ...keyCommands, ...workerCommands, ...eventCommands, ...callCommands, ...loginCommands];

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  io: Io;
  signal: AbortSignal;
}

/** The command named by the first one or two words of `argv`, and the arguments after it. */
function find(argv: string[]): { command: Command; rest: string[] } {
  const words = argv.slice(0, 2).filter((w) => !w.startsWith("-"));
  for (const n of [2, 1]) {
    const name = words.slice(0, n).join(" ");
    if (words.length < n) continue;
    const command = COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
    if (command) return { command, rest: argv.slice(n) };
  }
  const group = COMMANDS.filter((c) => c.name.startsWith(`${words[0]} `) || c.aliases?.some((a) => a.startsWith(`${words[0]} `)));
  if (group.length > 0) {
    const subs = [...new Set(group.map((c) => c.name.split(" ")[1]))].join(", ");
    throw usageError(words[1] ? `unknown command '${words[0]} ${words[1]}'` : `'${words[0]}' needs a subcommand`, `one of: ${subs} (e.g. \`gpuctl ${group[0]!.name}\`)`);
  }
  throw usageError(`unknown command '${words[0] ?? argv[0]}'`, "see `gpuctl --help` for the list");
}

export async function main(argv: string[], opts: RunOptions): Promise<number> {
  const { io } = opts;
  try {
    if (argv.length === 0 || (argv.length === 1 && ["--help", "-h", "help"].includes(argv[0]!))) {
      io.stdout(mainHelp(COMMANDS));
      return EXIT.ok;
    }
    if (argv[0] === "help") {
      const { command } = find(argv.slice(1));
      io.stdout(commandHelp(command));
      return EXIT.ok;
    }
    const { command, rest } = find(argv);
    const parsed = parse(rest, command.options ?? {}, command.name);
    if (parsed.values.help) {
      io.stdout(commandHelp(command));
      return EXIT.ok;
    }
    const env = parseEnv(opts.env);
    let connected: ReturnType<Context["connect"]> | undefined;
    const ctx: Context = {
      io,
      env,
      signal: opts.signal,
      connect() {
        if (connected) return connected;
        const flags = { url: parsed.values.url as string | undefined, token: parsed.values.token as string | undefined, config: parsed.values.config as string | undefined };
        const connection = resolveConnection(flags, env);
        connected = { client: adminClient(connection.url, connection.token), connection };
        return connected;
      },
    };
    await command.run(ctx, parsed);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CliError) {
      io.stderr(`gpuctl: ${e.message}\n${e.hint ? `  → ${e.hint}\n` : ""}`);
      return e.exitCode;
    }
    io.stderr(`gpuctl: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return EXIT.failed;
  }
}

/** The process's own arguments, streams and Ctrl-C. */
export async function run(): Promise<number> {
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.on("SIGINT", interrupt);
  try {
    return await main(process.argv.slice(2), {
      env: process.env,
      signal: controller.signal,
      io: { stdout: (t) => void process.stdout.write(t), stderr: (t) => void process.stderr.write(t), interactive: Boolean(process.stderr.isTTY) },
    });
  } finally {
    process.off("SIGINT", interrupt);
  }
}
