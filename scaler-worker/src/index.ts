// Wiring only: the cron tick and the router's scale-now RPC, both one runTick() pass.
import { WorkerEntrypoint } from "cloudflare:workers";
import { z } from "zod";
import { log } from "../../core/log.ts";
import { EndpointName } from "../../core/wire.ts";
import { loadConfig, type ScalerConfig } from "./config.ts";
import { InstanceListCache, runTick, type TickDeps } from "./tick.ts";
import { createVastClient } from "./vast-client.ts";

const ScaleNowArgs = z.object({ endpoint: EndpointName, reason: z.string().max(500) });

/** Survives between requests in one isolate: scale-now bursts share an instance list. */
const listCache = new InstanceListCache();

/** Consecutive failed Vast calls after which a pass stops calling (a 429 or 5xx storm). */
const STORM_THRESHOLD = 6;

export function tickDeps(env: ScalerEnv, cfg: ScalerConfig): TickDeps {
  return {
    d1: env.DB,
    config: cfg,
    listCache,
    vast: createVastClient({
      baseUrl: cfg.VAST_API_URL,
      apiKey: cfg.VAST_API_KEY,
      labelPrefix: cfg.INSTANCE_LABEL_PREFIX,
      policy: {
        timeoutMs: cfg.VAST_TIMEOUT_MS,
        maxAttempts: cfg.VAST_MAX_ATTEMPTS,
        baseMs: cfg.VAST_BACKOFF_BASE_MS,
        capMs: cfg.VAST_BACKOFF_CAP_MS,
        retryBudget: cfg.VAST_RETRY_BUDGET,
        maxCalls: cfg.VAST_MAX_CALLS_PER_TICK,
        stormThreshold: STORM_THRESHOLD,
        // Finish calling Vast well inside the lease, so no other pass can take over mid-way.
        deadline: Date.now() + Math.max(1, cfg.LEASE_TTL_S - 5) * 1000,
      },
    }),
    objects: {
      snapshot: (name) => env.ENDPOINTS.getByName(name).snapshot(),
      forget: (name, workerId) => env.ENDPOINTS.getByName(name).forget(workerId),
      setDrain: (name, workerIds, drained) => env.ENDPOINTS.getByName(name).setDrain(workerIds, drained),
    },
  };
}

export default class Scaler extends WorkerEntrypoint<ScalerEnv> {
  /** The router's fast path: this endpoint needs capacity now (fire-and-forget, throttled by the router). */
  async scaleNow(endpoint: string, reason: string): Promise<void> {
    const args = ScaleNowArgs.safeParse({ endpoint, reason });
    if (!args.success) {
      log("warn", "scale-now refused: bad arguments", { issues: args.error.issues.map((i) => `${i.path.join(".")}: ${i.code}`) });
      return;
    }
    await runTick(tickDeps(this.env, loadConfig(this.env)), { kind: "scale-now", endpoint: args.data.endpoint, reason: args.data.reason });
  }

  override async scheduled(): Promise<void> {
    await runTick(tickDeps(this.env, loadConfig(this.env)), { kind: "cron" });
  }
}
