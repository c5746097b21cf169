// Where the CLI finds the router and its admin token: flags, then the environment, then the config file
// `gpuctl login` writes, then the local stack's coordinates (`npm start` writes <STATE_DIR>/stack.json).
// A token read from a file is sent only to the URL stored beside it, never to a URL from elsewhere.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import { StackInfo, stackInfoPath } from "../../demo/stack-info.ts";
import { EndpointName } from "../../core/wire.ts";
import { CliError, EXIT, usageError } from "./cli-error.ts";

const RouterUrl = z.url({ protocol: /^https?$/, error: "an http(s) URL such as http://127.0.0.1:8787" }).transform((u) => u.replace(/\/+$/, ""));
const Token = z.string().min(1, "the admin token is empty");

/** The config file written by `gpuctl login`. */
export const ConfigFile = z.object({ url: RouterUrl, token: Token, endpoint: EndpointName.optional() }).strict();
export type ConfigFile = z.infer<typeof ConfigFile>;

/** The environment variables the CLI reads (empty ones count as unset). */
export const CliEnv = z.object({
  GPUCTL_URL: RouterUrl.optional(),
  GPUCTL_TOKEN: Token.optional(),
  GPUCTL_ENDPOINT: EndpointName.optional(),
  GPUCTL_API_KEY: z.string().min(1).optional(),
  /** Where `login` writes and every command reads the config file. */
  GPUCTL_CONFIG: z.string().min(1).optional(),
  XDG_CONFIG_HOME: z.string().min(1).optional(),
  /** The local stack's state directory, from the repository root (as `npm start`). */
  STATE_DIR: z.string().min(1).default(".state"),
});
export type CliEnv = z.infer<typeof CliEnv>;

export interface Connection {
  url: string;
  token: string;
  /** The endpoint commands use when none is named. */
  endpoint: string | undefined;
  /** The local stack's demo key, when the endpoint is the stack's. */
  stackApiKey: { endpoint: string; api_key: string } | undefined;
  /** Where the URL came from, for error messages. */
  source: string;
}

function describe(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
}

export function parseEnv(env: NodeJS.ProcessEnv): CliEnv {
  const parsed = CliEnv.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== "")));
  if (!parsed.success) throw new CliError(EXIT.auth, `the environment is not usable: ${describe(parsed.error)}`, "fix or unset the variable it names");
  return parsed.data;
}

export function configPath(env: CliEnv, flag?: string): string {
  if (flag) return resolve(flag);
  if (env.GPUCTL_CONFIG) return resolve(env.GPUCTL_CONFIG);
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "gpuctl", "config.json");
}

export function readConfigFile(path: string): ConfigFile | undefined {
  if (!existsSync(path)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new CliError(EXIT.auth, `the config file ${path} is not JSON (${(e as Error).message})`, "run `gpuctl login --url <router> --token <admin token>` to write it again");
  }
  const parsed = ConfigFile.safeParse(raw);
  if (!parsed.success) {
    throw new CliError(EXIT.auth, `the config file ${path} is not valid: ${describe(parsed.error)}`, "run `gpuctl login --url <router> --token <admin token>` to write it again");
  }
  return parsed.data;
}

export function writeConfigFile(path: string, config: ConfigFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // The admin token is a secret: readable by its owner only.
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}

export function removeConfigFile(path: string): boolean {
  if (!existsSync(path)) return false;
  rmSync(path);
  return true;
}

/** The repository root: `npm start` resolves STATE_DIR from there, so the CLI does too. */
const ROOT = resolve(import.meta.dirname, "../..");

function readStackFile(env: CliEnv): StackInfo | undefined {
  const path = stackInfoPath(resolve(ROOT, env.STATE_DIR));
  if (!existsSync(path)) return undefined;
  try {
    const parsed = StackInfo.safeParse(JSON.parse(readFileSync(path, "utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    // A stack file being written, or from another version: it is only a fallback.
    return undefined;
  }
}

export interface ConnectionFlags {
  url?: string;
  token?: string;
  config?: string;
}

/** Resolves URL, token and default endpoint; throws with what to do when something is missing. */
export function resolveConnection(flags: ConnectionFlags, env: CliEnv): Connection {
  const flagUrl = flags.url === undefined ? undefined : RouterUrl.safeParse(flags.url);
  if (flagUrl && !flagUrl.success) throw usageError(`--url: ${describe(flagUrl.error)}`);
  if (flags.token !== undefined && flags.token === "") throw usageError("--token is empty");
  const file = readConfigFile(configPath(env, flags.config));
  const stack = readStackFile(env);
  const stackUrl = stack ? RouterUrl.parse(stack.router) : undefined;

  const url = flagUrl?.data ?? env.GPUCTL_URL ?? file?.url ?? stackUrl;
  const source = flagUrl ? "--url" : env.GPUCTL_URL ? "GPUCTL_URL" : file ? configPath(env, flags.config) : stack ? `${env.STATE_DIR}/stack.json (npm start)` : "";
  if (!url) {
    throw new CliError(
      EXIT.auth,
      "no router to talk to",
      "run `gpuctl login --url <router> --token <admin token>`, set GPUCTL_URL and GPUCTL_TOKEN, or start the local stack with `npm start`",
    );
  }
  const token = flags.token ?? env.GPUCTL_TOKEN ?? (file?.url === url ? file.token : undefined) ?? (stackUrl === url ? stack?.admin_token : undefined);
  if (!token) {
    throw new CliError(EXIT.auth, `no admin token for ${url}`, "pass --token, set GPUCTL_TOKEN, or run `gpuctl login --url <router> --token <admin token>`");
  }
  const endpoint = env.GPUCTL_ENDPOINT ?? (file?.url === url ? file.endpoint : undefined) ?? (stackUrl === url ? stack?.endpoint : undefined);
  const stackApiKey = stack && stackUrl === url ? { endpoint: stack.endpoint, api_key: stack.api_key } : undefined;
  return { url, token, endpoint, stackApiKey, source };
}
