// The agent's settings: every environment variable parsed once by one zod schema, with defaults
// and errors that name the variable. Names follow what Vast injects into an instance.
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { EndpointName } from "../../core/wire.ts";

export const BackendKind = z.enum(["openai", "tgi", "generic"]);
export type BackendKind = z.infer<typeof BackendKind>;

export const HttpStack = z.enum(["node", "hono"]);
export type HttpStack = z.infer<typeof HttpStack>;

const Seconds = (def: number, max = 86_400) => z.coerce.number().finite().positive().max(max).default(def);
const Count = (def: number, max: number) => z.coerce.number().int().min(1).max(max).default(def);
const Bool = z
  .enum(["1", "true", "yes", "on", "0", "false", "no", "off", ""])
  .default("")
  .transform((v) => ["1", "true", "yes", "on"].includes(v));
const HttpUrl = z.url({ protocol: /^https?$/, error: (iss) => (iss.input === undefined ? "required" : "an http(s) URL") });
const RoutePath = z.string().regex(/^\/[^\s?#]*$/, "a path starting with '/'");
const Port = z.coerce.number().int().min(0).max(65_535);
/** A JSON array of strings, for lists of log markers. */
const StringList = z
  .string()
  .transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: 'a JSON array of strings, e.g. ["Traceback"]' });
      return z.NEVER;
    }
  })
  .pipe(z.array(z.string().min(1)).max(64));

/** The raw environment, variable by variable. */
const AgentEnv = z.object({
  WORKER_ID: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, "letters, digits, '.', '_', ':' or '-'").optional(),
  CONTAINER_ID: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, "letters, digits, '.', '_', ':' or '-'").optional(),
  PUBLIC_URL: HttpUrl.optional(),
  PUBLIC_IPADDR: z.string().min(1).max(255).optional(),
  WORKER_PORT: Port.default(3000),
  LISTEN_HOST: z.string().min(1).default("0.0.0.0"),
  REPORT_ADDR: HttpUrl,
  MASTER_TOKEN: z.string().min(1).max(512),
  ENDPOINT: EndpointName,
  BACKEND_URL: HttpUrl,
  BACKEND: BackendKind.default("openai"),
  MODEL_LOG: z.string().min(1).optional(),
  MODEL_HEALTH: RoutePath.optional(),
  MODEL_LOAD_MSG: z.string().min(1).optional(),
  MODEL_ERROR_MSGS: StringList.optional(),
  MAX_QUEUE_TIME: Seconds(30, 1e6),
  BACKEND_TIMEOUT_S: Seconds(600),
  BACKEND_CONNECTIONS: Count(256, 10_000),
  BENCH_ROUNDS: Count(3, 100),
  BENCH_CONCURRENCY: Count(16, 1024),
  BENCH_SECONDS: Seconds(10, 3600),
  BENCH_MAX_TOKENS: Count(128, 32_768),
  BENCH_MODEL: z.string().min(1).optional(),
  BENCH_PATH: RoutePath.optional(),
  BENCH_PAYLOAD: z.string().min(1).optional(),
  BENCH_WORKLOAD: z.coerce.number().finite().positive().optional(),
  AGENT_CACHE_DIR: z.string().min(1).default(join(homedir(), ".cache", "gpu-agent")),
  REPORT_INTERVAL_S: Seconds(10, 3600),
  REPORT_MIN_INTERVAL_S: Seconds(1, 3600),
  DRAIN_TIMEOUT_S: Seconds(8, 3600),
  TOKEN_SKEW_S: z.coerce.number().finite().min(0).max(300).default(5),
  REPLAY_CAPACITY: Count(100_000, 10_000_000),
  MAX_BODY_BYTES: Count(16 * 1024 * 1024, 1024 * 1024 * 1024),
  VAST_COMPAT: Bool,
  HTTP_STACK: HttpStack.default("node"),
  GPU_NAME: z.string().min(1).max(128).optional(),
});

export interface AgentConfig {
  /** Reported `id`: a JSON number when it is a Vast instance id (all digits). */
  workerId: string | number;
  /** Fixed advertised URL, or null to build `http://<publicHost>:<port>` once the port is known. */
  publicUrl: string | null;
  publicHost: string;
  /** The externally mapped port (VAST_TCP_PORT_<WORKER_PORT>), if any. */
  publicPort: number | null;
  port: number;
  listenHost: string;
  routerUrl: string;
  masterToken: string;
  endpoint: string;
  backendUrl: string;
  backend: BackendKind;
  modelLog: string | null;
  modelHealth: string | null;
  modelLoadMsg: string | null;
  modelErrorMsgs: string[] | null;
  maxQueueTimeS: number;
  backendTimeoutMs: number;
  backendConnections: number;
  bench: {
    rounds: number;
    concurrency: number;
    seconds: number;
    maxTokens: number;
    model: string | null;
    path: string | null;
    payload: unknown;
    workload: number | null;
  };
  cacheDir: string;
  reportIntervalMs: number;
  reportMinIntervalMs: number;
  drainTimeoutMs: number;
  tokenSkewS: number;
  replayCapacity: number;
  maxBodyBytes: number;
  vastCompat: boolean;
  httpStack: HttpStack;
  gpuName: string | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid agent configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

/** Parses the environment; throws ConfigError listing every problem by variable name. */
export function loadConfig(env: Record<string, string | undefined>): AgentConfig {
  // Empty strings mean "unset": shells and container templates often export VAR= .
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = AgentEnv.safeParse(present);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => {
        const name = i.path.join(".") || "environment";
        return i.code === "invalid_type" && /received undefined/.test(i.message) ? `${name}: required` : `${name}: ${i.message}`;
      });
  // Checks across variables, reported together with the others so one run lists every problem.
  if (!present.WORKER_ID && !present.CONTAINER_ID) problems.push("WORKER_ID or CONTAINER_ID: one is required (the worker id the router knows)");
  if (!present.PUBLIC_URL && !present.PUBLIC_IPADDR) problems.push("PUBLIC_URL or PUBLIC_IPADDR: one is required (the URL clients reach this worker at)");
  if (!parsed.success) throw new ConfigError(problems);
  const e = parsed.data;

  const id = (e.WORKER_ID ?? e.CONTAINER_ID)!;
  const mapped = env[`VAST_TCP_PORT_${e.WORKER_PORT}`];
  const publicPort = mapped ? Port.safeParse(mapped) : null;
  if (publicPort && !publicPort.success) problems.push(`VAST_TCP_PORT_${e.WORKER_PORT}: a port number`);
  let payload: unknown = null;
  if (e.BENCH_PAYLOAD) {
    try {
      payload = JSON.parse(e.BENCH_PAYLOAD);
    } catch {
      problems.push("BENCH_PAYLOAD: JSON (the request body the benchmark sends)");
    }
  }
  if (e.BACKEND === "generic" && (!e.BENCH_PATH || payload === null || e.BENCH_WORKLOAD === undefined)) {
    problems.push("BENCH_PATH, BENCH_PAYLOAD and BENCH_WORKLOAD: required with BACKEND=generic (the agent cannot guess a standard request)");
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    workerId: /^\d{1,15}$/.test(id) ? Number(id) : id,
    publicUrl: e.PUBLIC_URL ? e.PUBLIC_URL.replace(/\/+$/, "") : null,
    publicHost: e.PUBLIC_IPADDR ?? "",
    publicPort: publicPort?.success ? publicPort.data : null,
    port: e.WORKER_PORT,
    listenHost: e.LISTEN_HOST,
    routerUrl: e.REPORT_ADDR.replace(/\/+$/, ""),
    masterToken: e.MASTER_TOKEN,
    endpoint: e.ENDPOINT,
    backendUrl: e.BACKEND_URL.replace(/\/+$/, ""),
    backend: e.BACKEND,
    modelLog: e.MODEL_LOG ?? null,
    modelHealth: e.MODEL_HEALTH ?? null,
    modelLoadMsg: e.MODEL_LOAD_MSG ?? null,
    modelErrorMsgs: e.MODEL_ERROR_MSGS ?? null,
    maxQueueTimeS: e.MAX_QUEUE_TIME,
    backendTimeoutMs: e.BACKEND_TIMEOUT_S * 1000,
    backendConnections: e.BACKEND_CONNECTIONS,
    bench: {
      rounds: e.BENCH_ROUNDS,
      concurrency: e.BENCH_CONCURRENCY,
      seconds: e.BENCH_SECONDS,
      maxTokens: e.BENCH_MAX_TOKENS,
      model: e.BENCH_MODEL ?? null,
      path: e.BENCH_PATH ?? null,
      payload,
      workload: e.BENCH_WORKLOAD ?? null,
    },
    cacheDir: e.AGENT_CACHE_DIR,
    reportIntervalMs: e.REPORT_INTERVAL_S * 1000,
    reportMinIntervalMs: e.REPORT_MIN_INTERVAL_S * 1000,
    drainTimeoutMs: e.DRAIN_TIMEOUT_S * 1000,
    tokenSkewS: e.TOKEN_SKEW_S,
    replayCapacity: e.REPLAY_CAPACITY,
    maxBodyBytes: e.MAX_BODY_BYTES,
    vastCompat: e.VAST_COMPAT,
    httpStack: e.HTTP_STACK,
    gpuName: e.GPU_NAME ?? null,
  };
}

/** The URL clients reach this worker at, once the listening port is known (port 0 in tests). */
export function advertisedUrl(config: AgentConfig, listeningPort: number): string {
  if (config.publicUrl) return config.publicUrl;
  const host = config.publicHost.includes(":") && !config.publicHost.startsWith("[") ? `[${config.publicHost}]` : config.publicHost;
  return `http://${host}:${config.publicPort ?? listeningPort}`;
}
