// Test helpers for the scaler in workerd: the real router (admin API, /route/, /worker_status/)
// through a service binding, the stand-in Vast over HTTP, the ledger in D1, and one scaling pass
// with an adjustable clock (policy time can jump ahead without sleeping).
import { env } from "cloudflare:workers";
import { expect, inject } from "vitest";
import { loadConfig, type ScalerConfig } from "../src/config.ts";
import { tickDeps } from "../src/index.ts";
import { runTick, type TickReport, type TickScope } from "../src/tick.ts";

export const ADMIN = "test-admin-token";
export const VAST = inject("vastUrl");

export function router(path: string, init: RequestInit = {}): Promise<Response> {
  return env.ROUTER.fetch(new Request(`http://router.test${path}`, init));
}

export async function admin<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await router(`/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`admin ${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

let counter = 0;
export interface TestEndpoint {
  name: string;
  apiKey: string;
}

const made: string[] = [];
/**
 * Deletes the endpoints made since the last call (a deleted endpoint rents nothing more), so that a
 * test's endpoints, still warm from its load history, do not rent the stand-in's GPUs in the next
 * test's passes. Endpoints a test deleted itself are skipped.
 */
export async function retireEndpoints(): Promise<void> {
  for (const name of made.splice(0)) {
    const res = await router(`/api/v1/endpoints/${name}`, { method: "DELETE", headers: { authorization: `Bearer ${ADMIN}` } });
    await res.text();
  }
}

/** An endpoint with one key and one worker group renting RTX 4090s (and anything else `group` says). */
export async function makeEndpoint(params: Record<string, unknown> = {}, group: Record<string, unknown> = {}): Promise<TestEndpoint> {
  const name = `sc-${Date.now().toString(36)}-${counter++}`;
  await admin("POST", "/endpoints", { name, cold_workers: 0, ...params });
  made.push(name);
  await admin("POST", `/endpoints/${name}/workergroups`, { image: "vllm/vllm-openai", gpu_ram: 24, search_params: { gpu_name: { eq: "RTX 4090" } }, ...group });
  const { api_key } = await admin<{ api_key: string }>("POST", `/endpoints/${name}/keys`);
  return { name, apiKey: api_key };
}

const waiting = new Map<string, number[]>();
/** Requests that got a worker and are still in flight (the agents have not said they finished). */
const inFlight = new Map<string, number[]>();

async function route(ep: TestEndpoint, body: Record<string, unknown>): Promise<{ url?: string; request_idx: number }> {
  const res = await router("/route/", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ endpoint: ep.name, api_key: ep.apiKey, ...body }) });
  return (await res.json()) as { url?: string; request_idx: number };
}

/** `n` new requests of `cost` at /route/ (ROUTE_HOLD_MS=0: answered at once, waiting at the edge if no worker). */
export async function load(ep: TestEndpoint, n: number, cost = 100): Promise<void> {
  const answers = await Promise.all(Array.from({ length: n }, () => route(ep, { cost })));
  const list = waiting.get(ep.name) ?? [];
  const served = inFlight.get(ep.name) ?? [];
  for (const a of answers) (a.url ? served : list).push(a.request_idx);
  waiting.set(ep.name, list);
  inFlight.set(ep.name, served);
}

/**
 * Re-polls the requests still waiting, as Vast's clients do: with workers ready, they get one and
 * stop waiting; then the agents report them finished (`/delete_requests/`), so workers are idle again.
 */
export async function repoll(ep: TestEndpoint): Promise<number> {
  const answers = await Promise.all((waiting.get(ep.name) ?? []).map((idx) => route(ep, { request_idx: idx })));
  const still = answers.filter((a) => !a.url).map((a) => a.request_idx);
  waiting.set(ep.name, still);
  const served = [...(inFlight.get(ep.name) ?? []), ...answers.filter((a) => a.url).map((a) => a.request_idx)];
  inFlight.set(ep.name, []);
  for (const i of (await instances(ep.name)).filter((x) => x.actual_status === "running")) {
    const res = await router("/delete_requests/", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: i.env.WORKER_ID, mtoken: i.env.MASTER_TOKEN, request_idxs: served }),
    });
    await res.text();
  }
  return still.length;
}

export async function sim<T = any>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${VAST}${path}`, { method: body === undefined ? "GET" : "POST", headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`sim ${path}: ${res.status}`);
  return (await res.json()) as T;
}

export interface SimInstance {
  id: number;
  label: string;
  actual_status: string | null;
  intended_status: string;
  phase: string;
  gpu_name: string;
  dph_total: number;
  extra_env: [string, string][];
}

export async function instances(endpoint?: string): Promise<(SimInstance & { env: Record<string, string> })[]> {
  const state = await sim<{ instances: SimInstance[] }>("/sim/state");
  return state.instances
    .map((i) => ({ ...i, env: Object.fromEntries(i.extra_env) }))
    .filter((i) => endpoint === undefined || i.env.ENDPOINT === endpoint);
}

/** Where an agent says it serves (a fake address per instance: nothing listens there). */
export const agentUrl = (i: { id: number }) => `http://127.0.0.1:${40_000 + (i.id % 20_000)}`;

/** Plays the agents: every running instance of the endpoint (or those `only` picks) reports ready with `maxPerf`. */
export async function agentsReport(endpoint: string, maxPerf = 100, over: Record<string, unknown> = {}, only: (i: SimInstance & { env: Record<string, string> }) => boolean = () => true): Promise<number> {
  const running = (await instances(endpoint)).filter((i) => i.actual_status === "running" && only(i));
  for (const i of running) {
    const res = await router("/worker_status/", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        id: i.env.WORKER_ID,
        mtoken: i.env.MASTER_TOKEN,
        url: agentUrl(i),
        loadtime: 5,
        max_perf: maxPerf,
        cur_load: 0,
        gpu_name: i.gpu_name,
        ...over,
      }),
    });
    if (res.status !== 200) throw new Error(`report: ${res.status} ${await res.text()}`);
  }
  return running.length;
}

/** Waits until Vast has done what was asked of every instance (running or stopped, as intended). */
export async function settle(endpoint?: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const list = await instances(endpoint);
    if (list.every((x) => x.actual_status === x.intended_status || x.phase === "exited" || x.phase === "offline" || (x.phase === "loading" && (x as { stuck?: boolean }).stuck))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("instances did not settle");
}

export const clock = { offsetMs: 0 };

/** One scaling pass, as the cron handler runs it, with config overrides and the test clock. */
export function tick(scope: TickScope = { kind: "cron" }, over: Partial<ScalerConfig> = {}): Promise<TickReport> {
  const cfg = { ...loadConfig(env), ...over };
  return runTick({ ...tickDeps(env as unknown as ScalerEnv, cfg), now: () => Date.now() + clock.offsetMs }, scope);
}

export interface LedgerRow {
  id: string;
  status: string;
  vast_instance_id: number | null;
  closed_at: number | null;
  close_reason: string | null;
  mtoken_hash: string;
  start_failures: number;
}

export async function ledger(endpoint: string): Promise<LedgerRow[]> {
  const { results } = await env.DB.prepare(
    `SELECT w.* FROM workers w JOIN endpoints e ON e.id = w.endpoint_id WHERE e.name = ? AND w.kind = 'instance' ORDER BY w.created_at`,
  )
    .bind(endpoint)
    .all<LedgerRow>();
  return results;
}

export async function events(endpoint: string): Promise<{ action: string; reason: string; outcome: string }[]> {
  return (await admin<{ events: { action: string; reason: string; outcome: string }[] }>("GET", `/endpoints/${endpoint}/events?limit=1000`)).events;
}

/** Open rows and live instances agree one to one: nothing paid is unaccounted for, nothing doubled. */
export async function accounted(endpoint: string): Promise<{ open: LedgerRow[]; live: SimInstance[] }> {
  const open = (await ledger(endpoint)).filter((r) => r.closed_at === null);
  const live = await instances(endpoint);
  return { open, live };
}

/**
 * The endpoint's new instances boot and report ready, the request waiting at the router is served,
 * then two minutes without requests pass and a scaling pass runs: past inactivity_timeout the fleet
 * goes to the cold tier (stopped, not destroyed, for endpoints that keep cold workers).
 */
export async function serveThenIdle(ep: TestEndpoint): Promise<void> {
  await settle(ep.name);
  await agentsReport(ep.name, 100);
  expect(await repoll(ep)).toBe(0);
  clock.offsetMs = 120_000;
  await tick();
  await settle(ep.name);
}
