// The agent's lifecycle: listen at once (503 until ready), bring up (keys, model, max_perf), serve,
// report, drain. Composes the concept modules; holds the only mutable agent state.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { log } from "../../core/log.ts";
import type { AgentState } from "../../core/wire.ts";
import { Backend } from "./backend.ts";
import { KIND_DEFAULTS } from "./backend-kind.ts";
import { sleep } from "./backoff.ts";
import { detectGpuName, loadKeys, maxPerf } from "./bring-up.ts";
import { advertisedUrl, type AgentConfig } from "./config.ts";
import { createHonoServer } from "./hono-server.ts";
import type { AgentSurface } from "./http-surface.ts";
import { LoadLedger } from "./load-ledger.ts";
import { Metrics } from "./metrics.ts";
import { ModelCalls } from "./model-call.ts";
import { ModelBroken, ModelWatch } from "./model-watch.ts";
import { createNodeServer } from "./node-server.ts";
import { ReplayGuard } from "./replay-guard.ts";
import { Reporter } from "./reporter.ts";
import { RequestAuth } from "./request-auth.ts";
import { TokenKeys } from "./token-keys.ts";
import { VastPubkey } from "./vast-compat.ts";

export const AGENT_VERSION = "gpu-agent/0.1.0";
const KEYS_REFRESH_MS = 5 * 60_000;
const BENCH_ATTEMPTS = 3;

export interface RunningAgent {
  /** Where this process listens, on loopback. */
  readonly localUrl: string;
  /** The advertised URL (token audience, reported `url`). */
  readonly url: string;
  state(): AgentState;
  /** Resolves when ready; never resolves if the worker cannot become ready (see its reports). */
  readonly ready: Promise<void>;
  /** SIGTERM: report draining at once, finish in-flight work up to the deadline, close. */
  drain(): Promise<void>;
  /** Immediate stop (tests): in-flight calls are cancelled. */
  stop(): Promise<void>;
}

type Phase = "loading" | "ready" | "draining";
type ErrorSlot = "keys" | "model" | "benchmark";

export async function startAgent(config: AgentConfig): Promise<RunningAgent> {
  const startedAt = performance.now();
  const life = new AbortController();
  let phase: Phase = "loading";
  const errors = new Map<ErrorSlot, string>();
  let measured = 0;
  let loadtime = 0;
  let gpuName = config.gpuName;
  let url = "";

  const state = (): AgentState => (phase === "draining" ? "draining" : errors.size > 0 ? "error" : phase);
  const ledger = new LoadLedger();
  const metrics = new Metrics();
  const keys = new TokenKeys(config.routerUrl);
  const vast = config.vastCompat ? new VastPubkey(config.routerUrl) : null;
  const backend = new Backend(config.backendUrl, { connections: config.backendConnections, timeoutMs: config.backendTimeoutMs });
  const guard = new ReplayGuard(config.replayCapacity, Math.floor(Date.now() / 1000));
  const nowS = () => Date.now() / 1000;
  const auth = new RequestAuth(keys, guard, { audience: () => url, endpoint: config.endpoint, skewS: config.tokenSkewS, nowS }, vast);
  const calls = new ModelCalls({ auth, ledger, backend, metrics, state, maxPerf: () => measured, maxQueueTimeS: config.maxQueueTimeS });

  const reporter = new Reporter(
    {
      routerUrl: config.routerUrl,
      workerId: config.workerId,
      mtoken: config.masterToken,
      version: AGENT_VERSION,
      intervalMs: config.reportIntervalMs,
      minIntervalMs: config.reportMinIntervalMs,
    },
    () => ({
      state: state(),
      url: url || undefined,
      loadtime: phase === "loading" ? 0 : loadtime,
      max_perf: measured,
      error_msg: [...errors.values()].join("; ").slice(0, 4096),
      gpu_name: gpuName ?? undefined,
    }),
    ledger,
    { loading: () => phase === "loading" && errors.size === 0 },
  );
  ledger.onChange = () => reporter.changed();

  /** Every state change is reported at once. */
  const transition = (change: () => void) => {
    const before = state();
    change();
    const after = state();
    if (after !== before) {
      log(after === "error" ? "error" : "info", "agent state", { state: after, error: [...errors.values()].join("; ") || undefined });
      void reporter.now();
    }
  };
  const setError = (slot: ErrorSlot, msg: string | null) =>
    transition(() => {
      if (msg) errors.set(slot, msg);
      else errors.delete(slot);
    });

  const surface: AgentSurface = {
    calls,
    maxBodyBytes: config.maxBodyBytes,
    health: () => {
      const s = state();
      return {
        status: s === "ready" ? 200 : 503,
        body: {
          state: s,
          url,
          version: AGENT_VERSION,
          max_perf: measured,
          in_flight_load: ledger.inFlightLoad,
          in_flight_requests: ledger.inFlightRequests,
          error_msg: [...errors.values()].join("; "),
        },
      };
    },
    metrics: () =>
      metrics.render({
        in_flight_load: ledger.inFlightLoad,
        in_flight_requests: ledger.inFlightRequests,
        max_perf: measured,
        ready: state() === "ready" ? 1 : 0,
        reports_failed_total: reporter.failures,
      }),
  };

  const server: Server = config.httpStack === "hono" ? createHonoServer(surface) : createNodeServer(surface);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.listenHost, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  url = advertisedUrl(config, port);
  reporter.start();

  const kind = KIND_DEFAULTS[config.backend];
  const watch = new ModelWatch({
    backend,
    // With only a log to watch, the log decides; with neither, the kind's health path does.
    healthPath: config.modelHealth ?? (config.modelLog ? null : kind.health),
    logPath: config.modelLog,
    loadMsg: config.modelLoadMsg ?? kind.loadMsg,
    errorMsgs: config.modelErrorMsgs ?? kind.errorMsgs,
    pollMs: 250,
    healthEveryMs: 5_000,
  });

  async function bringUp(): Promise<void> {
    if (!gpuName) void detectGpuName().then((n) => (gpuName = n));
    const model = watch.waitLoaded(life.signal).catch((e: unknown) => {
      if (e instanceof ModelBroken) setError("model", e.message);
      throw e;
    });
    await Promise.all([loadKeys(keys, vast, setError, life.signal), model]);
    for (let attempt = 1; !life.signal.aborted && measured === 0; attempt++) {
      try {
        measured = await maxPerf(config, backend, life.signal);
        setError("benchmark", null);
      } catch (e) {
        if (life.signal.aborted) return;
        log("warn", "benchmark failed", { error: (e as Error).message, attempt });
        if (attempt >= BENCH_ATTEMPTS) setError("benchmark", (e as Error).message);
        await sleep(2_000 * Math.min(attempt, 15), life.signal);
      }
    }
    if (life.signal.aborted) return;
    loadtime = (performance.now() - startedAt) / 1000;
    transition(() => (phase = "ready"));
    void watch.watch(life.signal, (msg) => setError("model", msg));
    void refreshKeys();
  }

  async function refreshKeys(): Promise<void> {
    while (!life.signal.aborted) {
      await sleep(KEYS_REFRESH_MS, life.signal);
      if (life.signal.aborted) return;
      await keys.fetch().then(
        (n) => setError("keys", n > 0 ? null : "router withdrew all token keys"),
        () => undefined,
      );
    }
  }

  const ready = new Promise<void>((resolve) => {
    bringUp().then(
      () => {
        if (phase === "ready") resolve();
      },
      (e: unknown) => {
        if (!(e instanceof ModelBroken) && !life.signal.aborted) log("error", "bring-up failed", { error: (e as Error).message });
      },
    );
  });

  async function closeServer(): Promise<void> {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    await backend.destroy();
  }

  let draining: Promise<void> | null = null;
  async function drain(): Promise<void> {
    transition(() => (phase = "draining"));
    server.closeIdleConnections();
    const deadline = performance.now() + config.drainTimeoutMs;
    while (ledger.inFlightRequests > 0 && performance.now() < deadline) await sleep(25);
    if (ledger.inFlightRequests > 0) {
      log("warn", "drain deadline: cancelling requests", { in_flight: ledger.inFlightRequests });
      calls.abortAll();
      for (let i = 0; i < 40 && ledger.inFlightRequests > 0; i++) await sleep(25);
    }
    life.abort();
    // The last report carries the finished requests and zero load.
    await reporter.now();
    reporter.stop();
    await closeServer();
    log("info", "drained", { loadtime });
  }

  return {
    localUrl: `http://127.0.0.1:${port}`,
    url,
    state,
    ready,
    drain: () => (draining ??= drain()),
    stop: async () => {
      life.abort();
      reporter.stop();
      calls.abortAll();
      await closeServer();
    },
  };
}
