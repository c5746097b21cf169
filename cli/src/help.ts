// `gpuctl --help` and `gpuctl <command> --help`, from the command table itself.
import type { Command } from "./command.ts";
import { EXIT } from "./cli-error.ts";

const GLOBAL_HELP = `Global flags:
  --url URL        the router (else GPUCTL_URL, the \`login\` config, or the local stack's .state/stack.json)
  --token TOKEN    its admin token (else GPUCTL_TOKEN, the \`login\` config, or the local stack's)
  --config PATH    the config file (else GPUCTL_CONFIG, or ~/.config/gpuctl/config.json)
  --json           print the answer as JSON (every read command)
  --help, -h       this help, or a command's`;

const EXIT_HELP = `Exit codes: ${Object.entries(EXIT)
  .map(([k, v]) => `${v} ${k}`)
  .join(", ")}`;

export function mainHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => `${c.name} ${c.args}`.length));
  const lines = commands.map((c) => `  ${`${c.name} ${c.args}`.padEnd(width)}  ${c.summary}`);
  return `gpuctl: operate the GPU serverless platform from a terminal (its admin API)

Usage: gpuctl <command> [args] [flags]

Commands:
${lines.join("\n")}

${GLOBAL_HELP}

${EXIT_HELP}
Run \`gpuctl <command> --help\` for a command's flags.
`;
}

export function commandHelp(c: Command): string {
  const aliases = c.aliases?.length ? `\nAlso: ${c.aliases.map((a) => `gpuctl ${a}`).join(", ")}\n` : "";
  return `gpuctl ${c.name} ${c.args}\n\n${c.summary}.\n${aliases}${c.details ? `\n${c.details}\n` : ""}\n${GLOBAL_HELP}\n`;
}
