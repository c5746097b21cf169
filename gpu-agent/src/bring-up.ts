// Start-up steps that talk to the outside: the router's keys (retried forever with backoff), the
// model server's readiness, and max_perf (cached benchmark or a new one). Each step is an async
// function the lifecycle composes; errors worth reporting go through `setError`.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { z } from "zod";
import { log } from "../../core/log.ts";
import { backoffDelay, sleep } from "./backoff.ts";
import type { Backend } from "./backend.ts";
import { benchRequest } from "./backend-kind.ts";
import type { AgentConfig } from "./config.ts";
import { benchKey, measure, readBenchCache, writeBenchCache } from "./perf-benchmark.ts";
import type { TokenKeys } from "./token-keys.ts";
import type { VastPubkey } from "./vast-compat.ts";

const NO_KEYS = "router publishes no token keys (empty /.well-known/jwks.json): cannot verify requests";

/** Fetches the JWKS (and Vast's pubkey in compatibility mode) until there is at least one key. */
export async function loadKeys(
  keys: TokenKeys,
  vast: VastPubkey | null,
  setError: (slot: "keys", msg: string | null) => void,
  signal: AbortSignal,
): Promise<void> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      const count = await keys.fetch();
      if (vast && !vast.loaded) await vast.fetch();
      if (count > 0) {
        setError("keys", null);
        return;
      }
      setError("keys", NO_KEYS);
    } catch (e) {
      if (attempt === 0 || attempt % 10 === 0) log("warn", "cannot fetch the router's keys yet", { error: (e as Error).message, attempt });
    }
    await sleep(backoffDelay(attempt, 500, 15_000), signal);
  }
}

const Models = z.object({ data: z.array(z.object({ id: z.string().min(1) })).min(1) });

/** The served model's name, for OpenAI-style requests that need `model` (vLLM serves one). */
async function discoverModel(backend: Backend, signal: AbortSignal): Promise<string | null> {
  try {
    const res = await backend.request({ method: "GET", path: "/v1/models", signal });
    const parsed = Models.safeParse(await res.body.json());
    return parsed.success ? parsed.data.data[0]!.id : null;
  } catch {
    return null;
  }
}

/** max_perf from the cache when it matches this configuration, else measured (and cached). */
export async function maxPerf(config: AgentConfig, backend: Backend, signal: AbortSignal): Promise<number> {
  const model = config.backend === "openai" ? (config.bench.model ?? (await discoverModel(backend, signal))) : null;
  const sample = benchRequest(config, 0, model);
  const settings = { rounds: config.bench.rounds, concurrency: config.bench.concurrency, seconds: config.bench.seconds };
  // The box's disk holds the cache, so the GPU is implied; the model and the load shape are not.
  // (Not the backend URL: it is fixed per box, and tests give each model server a new port.)
  const key = benchKey({ backend: config.backend, path: sample.path, workload: sample.workload, model, settings });
  const cached = await readBenchCache(config.cacheDir, key);
  if (cached) {
    log("info", "benchmark cached", { max_perf: cached.max_perf, measured_at: cached.measured_at });
    return cached.max_perf;
  }
  const send = async (i: number) => {
    const req = benchRequest(config, i, model);
    try {
      const res = await backend.request({ path: req.path, body: req.body, signal });
      await res.body.dump({ limit: Infinity });
      return res.statusCode >= 200 && res.statusCode < 300 ? req.workload : 0;
    } catch {
      return 0;
    }
  };
  const result = await measure(send, settings, signal);
  log("info", "benchmark", { max_perf: result.max_perf, rounds: result.rounds, requests: result.requests, failures: result.failures });
  await writeBenchCache(config.cacheDir, { version: 1, key, max_perf: result.max_perf, rounds: result.rounds, measured_at: new Date().toISOString() }).catch(
    (e: unknown) => log("warn", "cannot cache the benchmark", { error: (e as Error).message }),
  );
  return result.max_perf;
}

/** The GPU's name from nvidia-smi, when there is one (the scaler learns perf per GPU type). */
export async function detectGpuName(): Promise<string | null> {
  try {
    const { stdout } = await promisify(execFile)("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader"], { timeout: 3_000 });
    return stdout.split("\n")[0]?.trim().slice(0, 128) || null;
  } catch {
    return null;
  }
}
