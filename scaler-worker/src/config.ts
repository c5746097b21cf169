// The scaler's string settings and its one secret, parsed once per isolate with defaults and clear
// errors. Error messages name the variable, never its value (VAST_API_KEY must not reach a log).
import { z } from "zod";
import type { ScalingSettings } from "../../core/scaling-policy.ts";

const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);
const HttpUrl = z.url({ protocol: /^https?$/, error: "an http(s) URL" });

export const ScalerConfig = z.object({
  VAST_API_URL: HttpUrl.transform((u) => u.replace(/\/+$/, "")),
  VAST_API_KEY: z.string({ error: "the Vast API key (a secret) is required" }).min(1, "the Vast API key (a secret) is required"),
  /** The router's public base URL: agents report there (REPORT_ADDR in the instance env). */
  REPORT_ADDR: HttpUrl.transform((u) => u.replace(/\/+$/, "")),
  /** The port the agent listens on inside the instance, mapped by Vast. */
  WORKER_PORT: int(3000, 1, 65_535),
  /** Labels `<prefix><worker id>` mark our instances; anything else on the account is never touched. */
  INSTANCE_LABEL_PREFIX: z.string().regex(/^[A-Za-z0-9._:-]{1,32}$/, "1-32 of letters, digits, '.', '_', ':', '-'").default("egs:"),
  VAST_TIMEOUT_MS: int(15_000, 100, 120_000),
  VAST_MAX_ATTEMPTS: int(4, 1, 10),
  VAST_BACKOFF_BASE_MS: int(500, 1, 60_000),
  VAST_BACKOFF_CAP_MS: int(8_000, 1, 120_000),
  /** Retries allowed per tick over all calls; then the tick stops calling Vast (a storm). */
  VAST_RETRY_BUDGET: int(20, 0, 1000),
  /** Vast calls per tick; actions beyond wait for the next tick. */
  VAST_MAX_CALLS_PER_TICK: int(200, 1, 10_000),
  /** 1: use Vast's bulk stop and destroy (falling back to one call per instance if refused). */
  VAST_BULK: z.enum(["0", "1"]).default("1").transform((v) => v === "1"),
  LEASE_TTL_S: int(55, 5, 3600),
  /** The scale-now path may reuse an instance list this young (ms). */
  LIST_CACHE_MS: int(5_000, 0, 60_000),
  CREATE_GRACE_S: int(180, 1, 86_400),
  GONE_GRACE_S: int(120, 1, 86_400),
  SILENT_ERROR_S: int(180, 5, 86_400),
  LOAD_DEADLINE_FLOOR_S: int(300, 1, 86_400),
  LOAD_DEADLINE_CEILING_S: int(3600, 1, 86_400),
  START_DEADLINE_S: int(180, 1, 86_400),
  RESTART_BACKOFF_S: int(300, 0, 86_400),
  SHORT_WINDOW_S: int(30, 1, 3600),
  LONG_WINDOW_S: int(600, 1, 3600),
  /** History the burst floor looks back over (0: no floor); the router keeps an hour. */
  BURST_WINDOW_S: int(3600, 0, 3600),
  /** Boot time assumed while no load time is learned: the backlog is planned over max(target_queue_time, boot). */
  DEFAULT_BOOT_S: int(150, 0, 3600),
  /** Durable Object snapshot calls in flight at once. */
  SNAPSHOT_CONCURRENCY: int(32, 1, 256),
});
export type ScalerConfig = z.infer<typeof ScalerConfig>;

export class ConfigError extends Error {}

let cached: { source: unknown; config: ScalerConfig } | undefined;

export function loadConfig(env: object): ScalerConfig {
  if (cached?.source === env) return cached.config;
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => typeof v === "string" && v !== ""));
  const parsed = ScalerConfig.safeParse(present);
  if (!parsed.success) {
    // Issue paths name variables; zod never echoes a string input in these messages.
    throw new ConfigError(`scaler configuration: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  if (parsed.data.LOAD_DEADLINE_FLOOR_S > parsed.data.LOAD_DEADLINE_CEILING_S) {
    throw new ConfigError("scaler configuration: LOAD_DEADLINE_FLOOR_S must not exceed LOAD_DEADLINE_CEILING_S");
  }
  cached = { source: env, config: parsed.data };
  return parsed.data;
}

export function scalingSettings(c: ScalerConfig): ScalingSettings {
  return {
    windows: { shortS: c.SHORT_WINDOW_S, longS: c.LONG_WINDOW_S, burstS: c.BURST_WINDOW_S },
    loadDeadline: { floorS: c.LOAD_DEADLINE_FLOOR_S, ceilingS: c.LOAD_DEADLINE_CEILING_S, factor: 2 },
    startDeadlineS: c.START_DEADLINE_S,
    maxStartFailures: 2,
    restartBackoffS: c.RESTART_BACKOFF_S,
    backlogOverBoot: true,
    defaultBootS: c.DEFAULT_BOOT_S,
    drain: true,
    headroom: { short: false, burst: false },
  };
}
