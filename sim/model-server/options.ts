// Settings of the simulated model server: each has a CLI flag and an environment variable (the
// flag wins), so a stand-in Vast can set them either way. One zod schema parses both.
import { parseArgs } from "node:util";
import { z } from "zod";

const Rate = z.coerce.number().finite().min(0).max(1);
const Flag = z.union([z.boolean(), z.enum(["1", "true", "yes", "0", "false", "no", ""]).transform((v) => ["1", "true", "yes"].includes(v))]);

export const SimOptions = z.object({
  port: z.coerce.number().int().min(0).max(65_535).default(8000),
  host: z.string().min(1).default("127.0.0.1"),
  /** Seconds before the model is "loaded" (health 503 and model routes 503 until then). */
  loadTimeS: z.coerce.number().finite().min(0).max(3600).default(1),
  tokenMs: z.coerce.number().finite().min(0).max(60_000).default(20),
  batchCost: z.coerce.number().finite().min(0).max(10).default(0.02),
  maxBatch: z.coerce.number().int().min(1).max(100_000).default(32),
  /** Fraction of model requests answered 500. */
  errorRate: Rate.default(0),
  /** Fraction of model requests that never answer. */
  hangRate: Rate.default(0),
  /** Exit with code 1 on this model request (0: never). */
  crashAfter: z.coerce.number().int().min(0).default(0),
  /** Log an engine error instead of the start-up line and never become healthy. */
  failLoad: Flag.default(false),
  /** Also append log lines to this file (what the agent's MODEL_LOG tails). */
  logFile: z.string().min(1).optional(),
  model: z.string().min(1).max(256).default("sim-model"),
  seed: z.coerce.number().int().default(1),
});
export type SimOptions = z.infer<typeof SimOptions>;

/** flag name → [option key, environment variable, help]. */
const SETTINGS = {
  port: ["port", "SIM_PORT", "port to listen on (0: any free port)"],
  host: ["host", "SIM_HOST", "address to bind"],
  "load-time": ["loadTimeS", "SIM_LOAD_TIME_S", "seconds until the model is loaded"],
  "token-ms": ["tokenMs", "SIM_TOKEN_MS", "ms per token for a sequence decoding alone"],
  "batch-cost": ["batchCost", "SIM_BATCH_COST", "fraction each extra sequence in the batch adds to the step time"],
  "max-batch": ["maxBatch", "SIM_MAX_BATCH", "sequences decoded together; more wait in a queue"],
  "error-rate": ["errorRate", "SIM_ERROR_RATE", "fraction of requests answered 500"],
  "hang-rate": ["hangRate", "SIM_HANG_RATE", "fraction of requests never answered"],
  "crash-after": ["crashAfter", "SIM_CRASH_AFTER", "exit(1) on the Nth model request (0: never)"],
  "fail-load": ["failLoad", "SIM_FAIL_LOAD", "log an engine error instead of loading (1/0)"],
  "log-file": ["logFile", "SIM_LOG_FILE", "also append log lines to this file"],
  model: ["model", "SIM_MODEL", "model name in answers and /v1/models"],
  seed: ["seed", "SIM_SEED", "seed of the fault-injection random numbers"],
} as const satisfies Record<string, readonly [keyof SimOptions, string, string]>;

export const HELP = [
  "Simulated model server: OpenAI /v1/completions, /v1/chat/completions (stream or not),",
  "TGI /generate and /generate_stream, Ollama /api/generate (NDJSON), /health, /v1/models;",
  "GET /sim/stats and POST /sim/faults {error_rate, hang_rate} for tests.",
  "",
  "usage: npm run sim:model -- [--flag value ...]",
  "",
  ...Object.entries(SETTINGS).map(([flag, [, env, help]]) => `  --${flag.padEnd(12)} ${env.padEnd(16)} ${help}`),
  "  --help                        this text",
  "",
  "A request may carry `sim: {fail?: status, hang?: true, stall_after?: tokens}` to inject a fault itself.",
].join("\n");

export class OptionsError extends Error {}

/** Parses argv (without node and script) and env; throws OptionsError with a readable message. */
export function parseSimOptions(argv: string[], env: NodeJS.ProcessEnv): SimOptions | "help" {
  const flagNames = Object.keys(SETTINGS) as (keyof typeof SETTINGS)[];
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries(flagNames.map((f) => [f, { type: f === "fail-load" ? ("boolean" as const) : ("string" as const) }])),
        help: { type: "boolean" },
      },
      strict: true,
    }));
  } catch (e) {
    throw new OptionsError(`${(e as Error).message}\n\n${HELP}`);
  }
  if (values.help) return "help";
  const raw: Record<string, unknown> = {};
  for (const flag of flagNames) {
    const [key, envName] = SETTINGS[flag];
    const v = values[flag] ?? env[envName];
    if (v !== undefined && v !== "") raw[key] = v;
  }
  const parsed = SimOptions.safeParse(raw);
  if (!parsed.success) {
    const byKey = Object.fromEntries(Object.entries(SETTINGS).map(([flag, [key, envName]]) => [key, `--${flag} / ${envName}`]));
    const lines = parsed.error.issues.map((i) => `${byKey[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`);
    throw new OptionsError(`invalid settings:\n  ${lines.join("\n  ")}`);
  }
  return parsed.data;
}
