// One real stack per test file: the simulated model server, the router stand-in and the agent, each
// a real HTTP server on a loopback port 0. The agent runs in this process (started from an env
// object through the same loadConfig as `npm run agent`); the SIGTERM test spawns it instead.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgent, type RunningAgent } from "../src/agent.ts";
import { loadConfig } from "../src/config.ts";
import { SimOptions } from "../../sim/model-server/options.ts";
import { startSimServer, type SimServer, type SimStats } from "../../sim/model-server/server.ts";
import { startRouterStandIn, type Grant, type StandInRouter } from "./router-stand-in.ts";

export const WORKER_ID = "w_test1";
export const MTOKEN = "mtok_secret_for_tests";
export const ENDPOINT = "llama";

export interface StackOptions {
  env?: Record<string, string>;
  sim?: Partial<SimOptions>;
  /** Wait until the agent reports ready (default true). */
  waitReady?: boolean;
  /** Runs after the sim and router start, before the agent does (e.g. to withdraw the router's keys). */
  beforeAgent?: (router: StandInRouter, sim: SimServer) => Promise<void> | void;
  /** Reuse a benchmark cache dir (and leave it in place on close). */
  cacheDir?: string;
}

export interface Stack {
  sim: SimServer;
  router: StandInRouter;
  agent: RunningAgent;
  cacheDir: string;
  env: Record<string, string>;
  /** POST `{auth_data, payload}` to the agent with a fresh valid token (overridable). */
  call(path: string, payload: unknown, grant?: Partial<Grant>, init?: RequestInit): Promise<Response>;
  post(path: string, body: unknown, init?: RequestInit): Promise<Response>;
  health(): Promise<{ state: string; in_flight_load: number; in_flight_requests: number; max_perf: number; error_msg: string }>;
  simStats(): SimStats;
  close(): Promise<void>;
}

/** Settings that make the agent come up in well under a second against the sim. */
export const FAST_ENV = {
  BENCH_ROUNDS: "1",
  BENCH_CONCURRENCY: "4",
  BENCH_SECONDS: "0.1",
  BENCH_MAX_TOKENS: "4",
  REPORT_INTERVAL_S: "0.5",
  REPORT_MIN_INTERVAL_S: "0.1",
};

export async function startSim(over: Partial<SimOptions> = {}): Promise<SimServer> {
  return startSimServer(SimOptions.parse({ port: 0, loadTimeS: 0, tokenMs: 1, ...over }));
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const sim = await startSim(opts.sim);
  // The router knows the worker by the id the agent will report (WORKER_ID, else CONTAINER_ID).
  const workerId = (opts.env?.WORKER_ID ?? WORKER_ID) || opts.env?.CONTAINER_ID || WORKER_ID;
  const router = await startRouterStandIn({ workerId, mtoken: MTOKEN, endpoint: ENDPOINT });
  await opts.beforeAgent?.(router, sim);
  const ownCache = opts.cacheDir === undefined;
  const cacheDir = opts.cacheDir ?? mkdtempSync(join(tmpdir(), "agent-cache-"));
  const env: Record<string, string> = {
    WORKER_ID,
    MASTER_TOKEN: MTOKEN,
    ENDPOINT,
    PUBLIC_IPADDR: "127.0.0.1",
    WORKER_PORT: "0",
    LISTEN_HOST: "127.0.0.1",
    REPORT_ADDR: router.url,
    BACKEND_URL: sim.url,
    BACKEND: "openai",
    AGENT_CACHE_DIR: cacheDir,
    ...FAST_ENV,
    ...opts.env,
  };
  const agent = await startAgent(loadConfig(env));
  if (opts.waitReady !== false) await agent.ready;
  const post = (path: string, body: unknown, init: RequestInit = {}) =>
    fetch(`${agent.localUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
      ...init,
    });
  return {
    sim,
    router,
    agent,
    cacheDir,
    env,
    post,
    async call(path, payload, grant = {}, init = {}) {
      const auth_data = await router.authData({ url: agent.url, ...grant });
      return post(path, { auth_data, payload }, init);
    },
    async health() {
      return (await (await fetch(`${agent.localUrl}/health`)).json()) as Awaited<ReturnType<Stack["health"]>>;
    },
    simStats: () => sim.stats(),
    async close() {
      await agent.stop();
      await Promise.all([sim.close(), router.close()]);
      if (ownCache) rmSync(cacheDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a value (not undefined/false) or the timeout passes. */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (performance.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
