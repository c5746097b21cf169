// The real things the fuzzer hits: the router Worker bundled and served by Miniflare on loopback
// (real D1 migrations, its Durable Objects on disk), and a real gpu-agent in front of the simulated
// model server. Each comes with what "the stored state" means for it, read from outside.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateDevSecrets } from "../../scripts/dev-secrets.ts";
import { applyLocalMigrations, startWorkers, type LocalWorkers } from "../../scripts/local-workers.ts";
import { startStack, type Stack } from "../../gpu-agent/test/harness.ts";
import type { Value } from "./body.ts";
import type { AgentCtx } from "./agent-surface.ts";
import { AGENT_BODY_LIMIT } from "./agent-surface.ts";
import type { RouterCtx } from "./router-surfaces.ts";

export interface RouterTarget {
  origin: string;
  ctx: RouterCtx;
  workers: LocalWorkers;
  /** D1 rows, the endpoint's live workers and load record, and a reqnum probe. */
  observe(): Promise<RouterState>;
  /** A valid /route/ call: its reqnum shows the sequence moved only by the calls it should. */
  routeOnce(): Promise<{ status: number; reqnum: number | undefined }>;
  /**
   * A read the endpoint's Durable Object answers, changing nothing: keeps it from being evicted while
   * a long run sends only cases refused before they reach it (eviction drops its in-memory load
   * figures and moves reqnum to the next persisted block, which is not what a malformed case did).
   */
  touch(): Promise<void>;
  /** Durable Objects with storage on disk (each /route/ to an unknown name creates one). */
  objectsOnDisk(): number;
  close(): Promise<void>;
}

export interface RouterState {
  d1: Record<string, unknown[]>;
  workers: unknown[];
  load: { arrived: number; requests: number; served: number; rejected: number; waiting: unknown; last_request_at: unknown };
}

async function ok<T>(res: Response, what: string): Promise<T> {
  if (!res.ok) throw new Error(`${what}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export async function startRouterTarget(): Promise<RouterTarget> {
  const stateDir = mkdtempSync(join(tmpdir(), "fuzz-router-"));
  const secrets = await generateDevSecrets();
  await applyLocalMigrations(stateDir);
  // Long staleness: the worker reported once must still be ready when the last case has run.
  const workers = await startWorkers(
    [{ config: "wrangler.toml", vars: { ...secrets, ROUTE_HOLD_MS: "0", ROUTE_RATE_PER_KEY: "1000000", STALE_AFTER_MS: "3600000" } }],
    { stateDir },
  );
  const origin = workers.url.origin;
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${origin}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${secrets.ADMIN_TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const post = (path: string, body: unknown) => fetch(`${origin}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  const endpoint = "fuzz-target";
  await ok(await admin("POST", "/endpoints", { name: endpoint, max_workers: 2 }), "create endpoint");
  await ok(await admin("POST", "/endpoints", { name: "fuzz-other" }), "create the other endpoint");
  const group = (await ok<{ name: string }>(await admin("POST", `/endpoints/${endpoint}/workergroups`, { name: "g1", image: "vllm/vllm-openai:latest" }), "create group")).name;
  const key = await ok<{ id: string; api_key: string }>(await admin("POST", `/endpoints/${endpoint}/keys`), "create key");
  const other = await ok<{ api_key: string }>(await admin("POST", "/endpoints/fuzz-other/keys"), "create other key");
  const w = await ok<{ id: string; mtoken: string }>(await admin("POST", `/endpoints/${endpoint}/workers`), "attach worker");
  const w2 = await ok<{ id: string; mtoken: string }>(await admin("POST", `/endpoints/${endpoint}/workers`), "attach worker");
  const worker = { id: w.id, mtoken: w.mtoken, url: "http://10.0.0.9:3000" };
  await ok(await post("/worker_status/", { id: w.id, mtoken: w.mtoken, url: worker.url, loadtime: 2, max_perf: 100, state: "ready" }), "report ready");

  let n = 0;
  const ctx: RouterCtx = {
    endpoint,
    apiKey: key.api_key,
    otherApiKey: other.api_key,
    worker,
    otherWorker: { id: w2.id, mtoken: w2.mtoken },
    group,
    keyId: key.id,
    adminToken: secrets.ADMIN_TOKEN,
    fresh: () => `fz-${process.pid}-${n++}`,
  };
  const doDir = join(stateDir, "v3", "do");

  return {
    origin,
    ctx,
    workers,
    async observe() {
      const db = await workers.d1();
      const tables = (await db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\' AND name NOT LIKE 'sqlite%' AND name != 'd1_migrations' ORDER BY name").all<{ name: string }>()).results;
      const d1: Record<string, unknown[]> = {};
      for (const { name } of tables) d1[name] = (await db.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).all()).results;
      const live = await ok<{ workers: Record<string, unknown>[] }>(await admin("GET", `/endpoints/${endpoint}/workers`), "workers");
      const metrics = await ok<{ buckets: Record<string, number>[]; waiting: unknown; last_request_at: unknown }>(await admin("GET", `/endpoints/${endpoint}/metrics?window_s=3600`), "metrics");
      const sum = (k: string) => metrics.buckets.reduce((s, b) => s + (b[k] ?? 0), 0);
      return {
        d1,
        // The report's age moves with the clock; everything else must not move.
        workers: live.workers.map(({ last_report_age_s: _age, ...rest }) => rest),
        load: { arrived: sum("arrived"), requests: sum("requests"), served: sum("served"), rejected: sum("rejected"), waiting: metrics.waiting, last_request_at: metrics.last_request_at },
      };
    },
    async routeOnce() {
      // A day's replay_timeout: the request stays assigned (and its pending load counted) for the whole run.
      const res = await post("/route/", { endpoint, api_key: key.api_key, cost: 1, replay_timeout: 86_400 });
      const body = (await res.json()) as { reqnum?: number };
      return { status: res.status, reqnum: body.reqnum };
    },
    async touch() {
      await ok(await admin("GET", `/endpoints/${endpoint}/workers`), "workers");
    },
    objectsOnDisk: () => readdirSync(doDir, { recursive: true }).filter((f) => String(f).endsWith(".sqlite")).length,
    async close() {
      await workers.dispose();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export interface AgentTarget {
  origin: string;
  ctx: AgentCtx;
  stack: Stack;
  observe(): Promise<{ received: number; state: string; in_flight_load: number; in_flight_requests: number }>;
  /** A genuine call: the agent still serves after the run. */
  callOnce(): Promise<number>;
  close(): Promise<void>;
}

export async function startAgentTarget(): Promise<AgentTarget> {
  const stack = await startStack({ env: { MAX_BODY_BYTES: String(AGENT_BODY_LIMIT) } });
  return {
    origin: stack.agent.localUrl,
    stack,
    ctx: {
      agentUrl: stack.agent.url,
      authData: async (over = {}) => (await stack.router.authData({ url: stack.agent.url, ...over })) as Record<string, Value>,
    },
    async observe() {
      const h = await stack.health();
      return { received: stack.simStats().received, state: h.state, in_flight_load: h.in_flight_load, in_flight_requests: h.in_flight_requests };
    },
    async callOnce() {
      return (await stack.call("/v1/completions", { model: "sim-model", prompt: "after the fuzz", max_tokens: 2 })).status;
    },
    close: () => stack.close(),
  };
}
