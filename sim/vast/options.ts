// Settings of the stand-in Vast: each has a CLI flag and an environment variable (the flag wins),
// parsed by one zod schema. Faults and timings can also be changed while it runs (POST /sim/faults).
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";

const ROOT = resolve(import.meta.dirname, "../..");
const Rate = z.coerce.number().finite().min(0).max(1);
const Ms = (def: number) => z.coerce.number().finite().min(0).max(3_600_000).default(def);
const Flag = z.union([z.boolean(), z.enum(["1", "true", "yes", "0", "false", "no", ""]).transform((v) => ["1", "true", "yes"].includes(v))]);
const KeyValues = z
  .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*=/, "KEY=VALUE"))
  .transform((list) => Object.fromEntries(list.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])));

/** One GPU type on sale: `name:dph:gpu_ram_MB:machines`, e.g. `RTX 4090:0.40:24564:6`. */
export const GpuSpec = z.string().transform((s, ctx) => {
  const [name, dph, ram, count] = s.split(":");
  const parsed = { gpu_name: name?.trim() ?? "", dph_total: Number(dph), gpu_ram: Number(ram), machines: Number(count ?? 1) };
  if (!parsed.gpu_name || !(parsed.dph_total >= 0) || !(parsed.gpu_ram > 0) || !Number.isInteger(parsed.machines) || parsed.machines < 1) {
    ctx.addIssue({ code: "custom", message: `'${s}': expected name:dph:gpu_ram_MB:machines` });
    return z.NEVER;
  }
  return parsed;
});
export type GpuSpec = z.infer<typeof GpuSpec>;

export const DEFAULT_GPUS = ["RTX 3090:0.22:24576:6", "RTX 4090:0.40:24564:6", "L40S:0.85:46068:4", "A100 80GB:1.30:81920:4", "H100 SXM:2.40:81559:3"];

/** Faults and timings: the part a test may change at run time. */
export const Faults = z.object({
  /** Fraction of API requests answered 500/502/503. */
  errorRate: Rate.default(0),
  /** Fraction answered 429 on top of the rate limiter (a storm). */
  rateLimitRate: Rate.default(0),
  /** Added to every API answer, ms (plus up to latencyJitterMs). */
  latencyMs: Ms(0),
  latencyJitterMs: Ms(0),
  /** Fraction of API requests never answered (the connection is dropped after hangMs). */
  timeoutRate: Rate.default(0),
  hangMs: Ms(30_000),
  /** Fraction of new instances that stay in "loading" for ever. */
  stuckRate: Rate.default(0),
  /** Fraction of restarts refused with resources_unavailable (the GPU was taken while stopped). */
  startFailRate: Rate.default(0),
  /** Fraction of creates that rent the instance and then answer 502 (the answer is lost). */
  loseCreateRate: Rate.default(0),
  /** A create rents the instance at once but answers this much later: a window in which to kill the caller. */
  createAnswerDelayMs: Ms(0),
  /** Time with actual_status null after a create, then "loading" for loadMs, then "running". */
  scheduleMs: Ms(200),
  loadMs: Ms(2000),
  /** Restart (stopped → running) and stop durations. */
  startMs: Ms(500),
  stopMs: Ms(300),
});
export type Faults = z.infer<typeof Faults>;

export const VastSimOptions = z.object({
  port: z.coerce.number().int().min(0).max(65_535).default(0),
  host: z.string().min(1).default("127.0.0.1"),
  /** The account's API key (Bearer); other keys get 401. */
  apiKey: z.string().min(1).default("sim-key"),
  gpus: z.array(GpuSpec).min(1).default(DEFAULT_GPUS.map((g) => GpuSpec.parse(g))),
  /** Requests per second per key before 429s (0: unlimited), and the burst. */
  rate: z.coerce.number().finite().min(0).default(20),
  burst: z.coerce.number().finite().min(1).default(40),
  faults: Faults.default(Faults.parse({})),
  /** Launch a gpu-agent and a model server per running instance. */
  processes: Flag.default(true),
  agentCmd: z.string().min(1).default(`${process.execPath} --import tsx ${resolve(ROOT, "gpu-agent/src/index.ts")}`),
  modelCmd: z.string().min(1).default(`${process.execPath} --import tsx ${resolve(ROOT, "sim/model-server/index.ts")}`),
  /** Defaults for every agent's environment (the instance's own env wins). */
  agentEnv: z.record(z.string(), z.string()).default({}),
  modelEnv: z.record(z.string(), z.string()).default({}),
  /** Where child process output goes (one file per process); default: a temp dir. */
  logDir: z.string().min(1).optional(),
  seed: z.coerce.number().int().default(1),
});
export type VastSimOptions = z.infer<typeof VastSimOptions>;

/** flag → [option path, environment variable, help]. Fault flags live under `faults`. */
const SETTINGS: Record<string, readonly [string, string, string]> = {
  port: ["port", "VAST_SIM_PORT", "port to listen on (0: any free port)"],
  host: ["host", "VAST_SIM_HOST", "address to bind"],
  "api-key": ["apiKey", "VAST_SIM_API_KEY", "the account's API key (Bearer)"],
  gpu: ["gpus", "VAST_SIM_GPUS", "GPU type on sale, name:dph:gpu_ram_MB:machines (repeat; env: comma-separated)"],
  rate: ["rate", "VAST_SIM_RATE", "API requests/s per key before plain-text 429s (0: unlimited)"],
  burst: ["burst", "VAST_SIM_BURST", "token bucket size of the rate limit"],
  "error-rate": ["faults.errorRate", "VAST_SIM_ERROR_RATE", "fraction of API requests answered 5xx"],
  "rate-limit-rate": ["faults.rateLimitRate", "VAST_SIM_RATE_LIMIT_RATE", "fraction answered 429 regardless of rate"],
  "latency-ms": ["faults.latencyMs", "VAST_SIM_LATENCY_MS", "added latency per API answer"],
  "latency-jitter-ms": ["faults.latencyJitterMs", "VAST_SIM_LATENCY_JITTER_MS", "up to this much more, at random"],
  "timeout-rate": ["faults.timeoutRate", "VAST_SIM_TIMEOUT_RATE", "fraction of API requests never answered"],
  "hang-ms": ["faults.hangMs", "VAST_SIM_HANG_MS", "how long an unanswered request is held before the connection drops"],
  "stuck-rate": ["faults.stuckRate", "VAST_SIM_STUCK_RATE", "fraction of new instances stuck loading for ever"],
  "start-fail-rate": ["faults.startFailRate", "VAST_SIM_START_FAIL_RATE", "fraction of restarts refused: resources_unavailable"],
  "lose-create-rate": ["faults.loseCreateRate", "VAST_SIM_LOSE_CREATE_RATE", "fraction of creates done but answered 502"],
  "create-answer-delay-ms": ["faults.createAnswerDelayMs", "VAST_SIM_CREATE_ANSWER_DELAY_MS", "a create rents at once but answers this much later"],
  "schedule-ms": ["faults.scheduleMs", "VAST_SIM_SCHEDULE_MS", "create → loading (actual_status null meanwhile)"],
  "load-ms": ["faults.loadMs", "VAST_SIM_LOAD_MS", "loading → running"],
  "start-ms": ["faults.startMs", "VAST_SIM_START_MS", "restart: stopped → running"],
  "stop-ms": ["faults.stopMs", "VAST_SIM_STOP_MS", "running → stopped"],
  processes: ["processes", "VAST_SIM_PROCESSES", "launch an agent and a model server per running instance (1/0)"],
  "agent-cmd": ["agentCmd", "VAST_SIM_AGENT_CMD", "command that starts a gpu-agent (split on spaces)"],
  "model-cmd": ["modelCmd", "VAST_SIM_MODEL_CMD", "command that starts a model server (gets --port N)"],
  "agent-env": ["agentEnv", "VAST_SIM_AGENT_ENV", "KEY=VALUE default for agents (repeat; env: comma-separated)"],
  "model-env": ["modelEnv", "VAST_SIM_MODEL_ENV", "KEY=VALUE default for model servers (repeat)"],
  "log-dir": ["logDir", "VAST_SIM_LOG_DIR", "directory for child process logs"],
  seed: ["seed", "VAST_SIM_SEED", "seed of the fault-injection random numbers"],
};
const LISTS = new Set(["gpu", "agent-env", "model-env"]);

export const HELP = [
  "Stand-in Vast: the instance API of PROTOCOL.md §6 (offers, instances, labels, billing, 429s, faults),",
  "launching a gpu-agent and a model server for each running instance.",
  "",
  "usage: npm run sim:vast -- [--flag value ...]     API base: http://<host>:<port>/api/v0",
  "",
  ...Object.entries(SETTINGS).map(([flag, [, env, help]]) => `  --${flag.padEnd(18)} ${env.padEnd(26)} ${help}`),
  "  --no-processes                                   instances only change state (fast tests)",
  "  --help",
  "",
  "Test hooks: GET /sim/state, POST /sim/faults {…Faults}, POST /sim/reset, POST /sim/seed {instances},",
  "POST /sim/instances/:id/fail {status}.",
].join("\n");

export class OptionsError extends Error {}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const [head, tail] = path.split(".") as [string, string | undefined];
  if (tail === undefined) target[head] = value;
  else target[head] = { ...((target[head] as Record<string, unknown>) ?? {}), [tail]: value };
}

/** Parses argv (without node and script) and env; throws OptionsError with a readable message. */
export function parseVastSimOptions(argv: string[], env: NodeJS.ProcessEnv): VastSimOptions | "help" {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries(Object.keys(SETTINGS).map((f) => [f, { type: f === "processes" ? ("boolean" as const) : ("string" as const), multiple: LISTS.has(f) }])),
        "no-processes": { type: "boolean" },
        help: { type: "boolean" },
      },
      strict: true,
    }));
  } catch (e) {
    throw new OptionsError(`${(e as Error).message}\n\n${HELP}`);
  }
  if (values.help) return "help";
  const raw: Record<string, unknown> = {};
  for (const [flag, [path, envName]] of Object.entries(SETTINGS)) {
    let v: unknown = values[flag];
    if (v === undefined && env[envName] !== undefined && env[envName] !== "") v = LISTS.has(flag) ? env[envName]!.split(",") : env[envName];
    if (v === undefined) continue;
    if (flag === "agent-env" || flag === "model-env") {
      const kv = KeyValues.safeParse(v);
      if (!kv.success) throw new OptionsError(`--${flag}: ${z.prettifyError(kv.error)}`);
      v = kv.data;
    }
    setPath(raw, path, v);
  }
  if (values["no-processes"]) raw.processes = false;
  const parsed = VastSimOptions.safeParse(raw);
  if (!parsed.success) throw new OptionsError(`${z.prettifyError(parsed.error)}\n\n${HELP}`);
  return parsed.data;
}
