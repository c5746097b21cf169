// Test helpers: requests through the real Worker entrypoint (workerd), with the real D1 schema.
import { env, exports } from "cloudflare:workers";
import type { WorkerStatus } from "../../core/wire.ts";

export const ADMIN = "test-admin-token";
const BASE = "https://router.test";

export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return call(path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

export function adminCall(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  return call(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

export async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

let counter = 0;
/** A fresh endpoint with one API key. */
export async function makeEndpoint(params: Record<string, unknown> = {}): Promise<{ name: string; apiKey: string }> {
  const name = `ep-${Date.now().toString(36)}-${counter++}`;
  const created = await adminCall("POST", "/endpoints", { name, ...params });
  if (created.status !== 201) throw new Error(`create endpoint: ${created.status} ${await created.text()}`);
  const key = await json<{ api_key: string }>(await adminCall("POST", `/endpoints/${name}/keys`));
  return { name, apiKey: key.api_key };
}

export interface TestWorker {
  id: string;
  mtoken: string;
  url: string;
}

/** A worker credential minted by the admin API. */
export async function attachWorker(endpoint: string, port: number, group?: string): Promise<TestWorker> {
  const res = await adminCall("POST", `/endpoints/${endpoint}/workers`, group === undefined ? undefined : { group });
  if (res.status !== 201) throw new Error(`attach worker: ${res.status} ${await res.text()}`);
  const { id, mtoken } = await json<{ id: string; mtoken: string }>(res);
  return { id, mtoken, url: `http://10.0.0.${port % 250}:${port}` };
}

export function report(w: TestWorker, fields: Partial<WorkerStatus> = {}): Promise<Response> {
  return postJson("/worker_status/", {
    id: w.id,
    mtoken: w.mtoken,
    url: w.url,
    loadtime: 12.5,
    cur_load: 0,
    max_perf: 100,
    version: "test",
    ...fields,
  });
}

/** A worker that is attached and has reported ready. */
export async function readyWorker(endpoint: string, port: number, fields: Partial<WorkerStatus> = {}, group?: string): Promise<TestWorker> {
  const w = await attachWorker(endpoint, port, group);
  const res = await report(w, fields);
  if (res.status !== 200) throw new Error(`report: ${res.status} ${await res.text()}`);
  return w;
}

export function stub(endpoint: string) {
  return env.ENDPOINTS.getByName(endpoint);
}

export interface ReadyAnswer {
  endpoint: string;
  url: string;
  cost: number;
  reqnum: number;
  request_idx: number;
  signature: string;
  token: string;
  __request_id: string;
}

export async function routeOk(endpoint: string, apiKey: string, extra: Record<string, unknown> = {}): Promise<ReadyAnswer> {
  const res = await postJson("/route/", { endpoint, api_key: apiKey, ...extra });
  const body = await json<ReadyAnswer>(res);
  if (res.status !== 200 || !body.url) throw new Error(`route: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

export async function tableCounts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ["endpoints", "worker_groups", "api_keys", "workers", "events"]) {
    const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${t}`).first<{ n: number }>();
    out[t] = row?.n ?? 0;
  }
  return out;
}
