// The router's surfaces as the fuzzer sees them: the Vast-protocol routes (/route/, /worker_status/,
// /delete_requests/) and the admin API. Field rules are read off core/wire.ts and core/endpoint.ts.
import { z } from "zod";
import type { Value } from "./body.ts";
import type { RouteSpec, Surface } from "./cases.ts";
import type { FieldSpec } from "./fields.ts";

/** What a running router target offers the cases: a real endpoint, keys, workers, an admin token. */
export interface RouterCtx {
  endpoint: string;
  apiKey: string;
  /** A key of another endpoint (valid there, not here). */
  otherApiKey: string;
  worker: { id: string; mtoken: string; url: string };
  otherWorker: { id: string; mtoken: string };
  group: string;
  keyId: string;
  adminToken: string;
  /** A fresh, valid, unused endpoint name. */
  fresh(): string;
}

export const BODY_LIMIT = 256 * 1024;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const amount = (name: string, required = false): FieldSpec => ({ name, kind: "number", min: 0, max: 1e12, required });
const BAD_URLS: Value[] = ["ftp://10.0.0.1:1", "http://user:pw@10.0.0.1:1", "http://10.0.0.1:1/?q=1", "not a url", "javascript:alert(1)", "//10.0.0.1:1", ""];

const vastError = (status: number) => (status === 401 ? z.object({ error: z.literal("Authentication failed") }).strict() : z.object({ error_msg: z.string().min(1) }).strict());
const json = { "content-type": "application/json" };

export const routeSurface: Surface<RouterCtx> = {
  name: "/route/",
  statuses: [400, 401, 404, 413, 415],
  errorShape: vastError,
  bodyLimit: BODY_LIMIT,
  routes: [
    {
      name: "POST /route/",
      method: "POST",
      path: () => "/route/",
      fields: [
        { name: "endpoint", kind: "string", required: true, min: 1, max: 64, pattern: NAME },
        { name: "api_key", kind: "string", min: 1, max: 512 },
        amount("cost"),
        { name: "request_idx", kind: "number", min: 0, max: MAX_SAFE, int: true },
        { name: "replay_timeout", kind: "number", min: 0, max: 86_400, exclusiveMin: true },
      ],
      base: (c) => ({ endpoint: c.endpoint, api_key: c.apiKey, cost: 10, replay_timeout: 60 }),
      strict: false,
      headers: () => json,
      credentials: [
        (_c, r) => void (r.body.api_key = "ek_not_a_key"),
        (c, r) => void (r.body.api_key = c.otherApiKey),
        (_c, r) => void delete r.body.api_key,
        (c, r) => void (r.body.api_key = c.apiKey.slice(0, -1)),
        (c, r) => void (r.body.api_key = `${c.apiKey}x`),
        (c, r) => void (r.body.endpoint = c.fresh()),
        (c, r) => (delete r.body.api_key, void (r.headers.authorization = `Bearer ${c.otherApiKey}`)),
        (c, r) => (delete r.body.api_key, void (r.path = `/route/?api_key=${encodeURIComponent(c.apiKey.toUpperCase())}`)),
      ],
    },
  ],
};

/** Vast's read of an endpoint's workers: the endpoint's key (or the admin token), nothing stored. */
export const endpointWorkersSurface: Surface<RouterCtx> = {
  name: "/get_endpoint_workers/",
  statuses: [400, 401, 404, 413, 415],
  errorShape: vastError,
  bodyLimit: BODY_LIMIT,
  routes: [
    {
      name: "POST /get_endpoint_workers/",
      method: "POST",
      path: () => "/get_endpoint_workers/",
      fields: [
        // Optional in the schema, but one of endpoint and id is required: the base names the endpoint only.
        { name: "endpoint", kind: "string", required: true, min: 1, max: 64, pattern: NAME },
        { name: "id", kind: "number", min: 0, max: MAX_SAFE, int: true },
        { name: "api_key", kind: "string", min: 1, max: 512 },
      ],
      base: (c) => ({ endpoint: c.endpoint, api_key: c.apiKey }),
      strict: false,
      headers: () => json,
      credentials: [
        (_c, r) => void (r.body.api_key = "ek_not_a_key"),
        (c, r) => void (r.body.api_key = c.otherApiKey),
        (_c, r) => void delete r.body.api_key,
        (c, r) => void (r.body.api_key = c.apiKey.slice(0, -1)),
        (c, r) => void (r.body.api_key = `${c.adminToken}x`),
        (c, r) => void (r.body.endpoint = c.fresh()),
        (c, r) => (delete r.body.api_key, void (r.headers.authorization = `Bearer ${c.otherApiKey}`)),
        (c, r) => (delete r.body.api_key, void (r.path = `/get_endpoint_workers/?api_key=${encodeURIComponent(c.apiKey.toUpperCase())}`)),
      ],
    },
  ],
};

const credentials: FieldSpec[] = [
  { name: "id", kind: "id", required: true, bad: ["", "has space", "a/b", "w_é"] },
  { name: "mtoken", kind: "string", required: true, min: 1, max: 512 },
];

const workerCredentials: RouteSpec<RouterCtx>["credentials"] = [
  (_c, r) => void (r.body.mtoken = "mtok_wrong"),
  (c, r) => void (r.body.mtoken = c.otherWorker.mtoken),
  (c, r) => void (r.body.id = c.otherWorker.id),
  (_c, r) => void (r.body.id = "w_unknown"),
  (_c, r) => void (r.body.id = 424242),
];

export const workerStatusSurface: Surface<RouterCtx> = {
  name: "/worker_status/",
  statuses: [400, 401, 413, 415],
  errorShape: vastError,
  bodyLimit: BODY_LIMIT,
  routes: [
    {
      name: "POST /worker_status/",
      method: "POST",
      path: () => "/worker_status/",
      fields: [
        ...credentials,
        { name: "version", kind: "string", max: 64 },
        { name: "url", kind: "string", max: 2048, bad: BAD_URLS },
        amount("loadtime"),
        amount("cur_load"),
        { name: "new_load", kind: "number", min: -1e12, max: 1e12 },
        amount("rej_load"),
        amount("cur_perf"),
        amount("max_perf"),
        { name: "error_msg", kind: "string", max: 4096 },
        { name: "num_requests_working", kind: "number", min: 0, max: 1e9, int: true },
        { name: "num_requests_recieved", kind: "number", min: 0, max: 1e12, int: true },
        { name: "working_request_idxs", kind: "indexes", max: 100_000 },
        { name: "additional_disk_usage", kind: "number", min: 0, max: 1e9 },
        { name: "state", kind: "enum", values: ["loading", "ready", "draining", "error"] },
        { name: "gpu_name", kind: "string", max: 128 },
      ],
      base: (c) => ({ id: c.worker.id, mtoken: c.worker.mtoken, url: c.worker.url, loadtime: 2, cur_load: 0, max_perf: 100, version: "fuzz", state: "ready" }),
      strict: false,
      headers: () => json,
      credentials: workerCredentials,
    },
  ],
};

export const deleteRequestsSurface: Surface<RouterCtx> = {
  name: "/delete_requests/",
  statuses: [400, 401, 413, 415],
  errorShape: vastError,
  bodyLimit: BODY_LIMIT,
  routes: [
    {
      name: "POST /delete_requests/",
      method: "POST",
      path: () => "/delete_requests/",
      fields: [...credentials, { name: "request_idxs", kind: "indexes", required: true, max: 100_000 }],
      base: (c) => ({ id: c.worker.id, mtoken: c.worker.mtoken, request_idxs: [1, 2, 3] }),
      strict: false,
      headers: () => json,
      credentials: workerCredentials,
    },
  ],
};

const load = (name: string): FieldSpec => ({ name, kind: "number", min: 0, max: 1e12 });
const count = (name: string, nullable = false): FieldSpec => ({ name, kind: "number", min: 0, max: 10_000, int: true, nullable });
const seconds = (name: string, extra: Partial<{ exclusiveMin: boolean; nullable: boolean }> = {}): FieldSpec => ({ name, kind: "number", min: 0, max: 30 * 86_400, ...extra });
const ENDPOINT_PARAMS: FieldSpec[] = [
  load("min_load"),
  load("min_cold_load"),
  { name: "target_util", kind: "number", min: 0, max: 1, exclusiveMin: true },
  { name: "cold_mult", kind: "number", min: 0, max: 100 },
  count("cold_workers"),
  count("max_workers"),
  seconds("max_queue_time", { exclusiveMin: true }),
  seconds("target_queue_time"),
  seconds("inactivity_timeout", { nullable: true }),
  { name: "endpoint_state", kind: "enum", values: ["active", "suspended", "stopped"] },
  { name: "max_hourly_cost", kind: "number", min: 0, max: 1e6, nullable: true },
];
const GROUP_LIMITS: FieldSpec[] = [
  { name: "gpu_ram", kind: "number", min: 0, max: 10_000, nullable: true },
  count("cold_workers", true),
  count("max_workers", true),
  { name: "traffic_share", kind: "number", min: 0, max: 1e6 },
  { name: "role", kind: "enum", values: ["primary", "overflow"] },
  { name: "search_params", kind: "record" },
];

const adminCredentials: RouteSpec<RouterCtx>["credentials"] = [
  (_c, r) => void delete r.headers.authorization,
  (_c, r) => void (r.headers.authorization = "Bearer adm_wrong"),
  (c, r) => void (r.headers.authorization = `Bearer ${c.adminToken}x`),
  (c, r) => void (r.headers.authorization = `Bearer ${c.adminToken.slice(0, -1)}`),
  (c, r) => void (r.headers.authorization = `Basic ${btoa(`admin:${c.adminToken}`)}`),
  (c, r) => void (r.headers.authorization = c.adminToken),
  (_c, r) => void (r.headers.authorization = "Bearer "),
];

function admin(spec: Omit<RouteSpec<RouterCtx>, "headers" | "credentials" | "strict"> & { strict?: boolean }): RouteSpec<RouterCtx> {
  return { strict: true, ...spec, headers: (c) => ({ authorization: `Bearer ${c.adminToken}` }), credentials: adminCredentials };
}

const named = (tail: string) => (c: RouterCtx, seg: string) => `/api/v1/endpoints/${seg}${tail}`;

export const adminSurface: Surface<RouterCtx> = {
  name: "admin API",
  statuses: [400, 401, 404, 409, 413, 415],
  errorShape: () => z.object({ code: z.string().min(1), message: z.string().min(1) }).strict(),
  bodyLimit: BODY_LIMIT,
  routes: [
    admin({
      name: "POST /endpoints",
      method: "POST",
      path: () => "/api/v1/endpoints",
      fields: [{ name: "name", kind: "string", required: true, min: 1, max: 64, pattern: NAME }, { name: "endpoint_name", kind: "string", min: 1, max: 64, pattern: NAME }, ...ENDPOINT_PARAMS],
      base: (c) => ({ name: c.fresh(), max_workers: 2 }),
    }),
    admin({
      name: "PATCH /endpoints/:name",
      method: "PATCH",
      path: (c) => `/api/v1/endpoints/${c.endpoint}`,
      fields: ENDPOINT_PARAMS,
      base: () => ({ max_workers: 3 }),
      badPath: named(""),
    }),
    admin({
      name: "POST /endpoints/:name/workergroups",
      method: "POST",
      path: (c) => `/api/v1/endpoints/${c.endpoint}/workergroups`,
      fields: [
        { name: "name", kind: "string", min: 1, max: 64, pattern: NAME },
        { name: "image", kind: "string", required: true, min: 1, max: 512 },
        { name: "launch_args", kind: "string", max: 8192 },
        { name: "env", kind: "record" },
        { name: "disk", kind: "number", min: 1, max: 10_000 },
        ...GROUP_LIMITS,
      ],
      base: (c) => ({ name: c.fresh(), image: "vllm/vllm-openai:latest" }),
      badPath: named("/workergroups"),
    }),
    admin({
      name: "PATCH /endpoints/:name/workergroups/:group",
      method: "PATCH",
      path: (c) => `/api/v1/endpoints/${c.endpoint}/workergroups/${c.group}`,
      fields: GROUP_LIMITS,
      base: () => ({ traffic_share: 2 }),
      badPath: (c, seg) => `/api/v1/endpoints/${c.endpoint}/workergroups/${seg}`,
    }),
    admin({
      name: "POST /endpoints/:name/workers",
      method: "POST",
      path: (c) => `/api/v1/endpoints/${c.endpoint}/workers`,
      fields: [{ name: "group", kind: "string", min: 1, max: 64, pattern: NAME }],
      base: (c) => ({ group: c.group }),
      badPath: named("/workers"),
    }),
    admin({
      name: "GET /endpoints/:name/events",
      method: "GET",
      query: true,
      path: (c) => `/api/v1/endpoints/${c.endpoint}/events`,
      fields: [{ name: "limit", kind: "number", min: 1, max: 1000, int: true }, { name: "before", kind: "number", min: 1, max: MAX_SAFE, int: true }],
      base: () => ({ limit: 10 }),
      badPath: named("/events"),
    }),
    admin({
      name: "GET /endpoints/:name/metrics",
      method: "GET",
      query: true,
      path: (c) => `/api/v1/endpoints/${c.endpoint}/metrics`,
      fields: [{ name: "window_s", kind: "number", min: 60, max: 3600, int: true }],
      base: () => ({ window_s: 600 }),
      badPath: named("/metrics"),
    }),
    admin({ name: "DELETE /endpoints/:name", method: "DELETE", path: (c) => `/api/v1/endpoints/${c.endpoint}`, fields: [], base: () => ({}), badPath: named("") }),
    admin({
      name: "DELETE /endpoints/:name/keys/:id",
      method: "DELETE",
      path: (c) => `/api/v1/endpoints/${c.endpoint}/keys/${c.keyId}`,
      fields: [],
      base: () => ({}),
      // A bad or unknown key id: 400 or 404, and no key is revoked.
      badPath: (c, seg) => `/api/v1/endpoints/${c.endpoint}/keys/${seg}`,
    }),
  ],
};
