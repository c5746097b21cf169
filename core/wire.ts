// Wire shapes of the Vast-compatible protocol (../shared/PROTOCOL.md §1–§4).
// Each zod schema is the single source of truth for its shape; its type shares its name.
import { z } from "zod";

/** Endpoint and group names: what fits in a URL path segment and a log line. */
export const EndpointName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' or '-', starting with a letter or digit");
export type EndpointName = z.infer<typeof EndpointName>;

/** A non-negative finite number; JSON cannot carry NaN or Infinity, but strings like "Infinity" must not sneak in. */
const Amount = z.number().finite().min(0).max(1e12);
/** Request ids travel as JSON numbers; keep them exact. */
const Index = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Worker base URL as advertised by the agent: http(s), no credentials, no query. */
export const WorkerUrl = z
  .string()
  .max(2048)
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === "http:" || u.protocol === "https:") && !u.username && !u.password && !u.search;
    } catch {
      return false;
    }
  }, "an http(s) URL without credentials or query");
export type WorkerUrl = z.infer<typeof WorkerUrl>;

// ---------------------------------------------------------------- POST /route/

/** Body of `POST /route/`. Unknown fields are ignored: Vast's SDK versions differ in what else they send. */
export const RouteRequest = z.object({
  endpoint: EndpointName,
  api_key: z.string().min(1).max(512).optional(),
  cost: Amount.default(100),
  request_idx: Index.optional(),
  replay_timeout: z.number().finite().positive().max(86_400).optional(),
});
export type RouteRequest = z.infer<typeof RouteRequest>;

/** Answer when a worker is ready. */
export const RouteReady = z.object({
  endpoint: EndpointName,
  url: WorkerUrl,
  cost: Amount,
  reqnum: Index,
  request_idx: Index,
  signature: z.string(),
  __request_id: z.string(),
  token: z.string(),
});
export type RouteReady = z.infer<typeof RouteReady>;

/** Answer when no worker is ready: no `url`, a `status` in words; Vast clients re-poll with `request_idx`. */
export const RouteWaiting = z.object({
  endpoint: EndpointName,
  status: z.string(),
  request_idx: Index,
  __request_id: z.string(),
  queue_position: z.number().int().min(0).optional(),
});
export type RouteWaiting = z.infer<typeof RouteWaiting>;

export const RouteAnswer = z.union([RouteReady, RouteWaiting]);
export type RouteAnswer = z.infer<typeof RouteAnswer>;

// ---------------------------------------------------------------- client → worker

/** What the worker needs from `auth_data` (the whole /route/ answer; extra fields are ignored). */
export const AuthData = z.object({
  url: z.string().max(2048),
  endpoint: EndpointName,
  reqnum: Index,
  request_idx: Index,
  cost: Amount,
  /** Its length is the verifier's check (an oversized token is refused with 401, as any bad token). */
  token: z.string().optional(),
  signature: z.string().max(4096).optional(),
});
export type AuthData = z.infer<typeof AuthData>;

/** Body the client POSTs to `{url}{route}`. */
export const WorkerCall = z.object({
  auth_data: AuthData,
  payload: z.unknown().refine((p) => p !== undefined, "payload is required"),
});
export type WorkerCall = z.infer<typeof WorkerCall>;

// ---------------------------------------------------------------- worker → router

/** Worker ids are instance ids (numbers) at Vast and our own ids (strings) for workers we mint. */
export const WorkerId = z
  .union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/)])
  .transform(String);
export type WorkerId = z.infer<typeof WorkerId>;

/** Worker credentials carried in the body of both report routes. */
const WorkerCredentials = {
  id: WorkerId,
  mtoken: z.string().min(1).max(512),
};

/** States an agent may declare beyond Vast's fields (ours; Vast agents omit it). */
export const AgentState = z.enum(["loading", "ready", "draining", "error"]);
export type AgentState = z.infer<typeof AgentState>;

/** `POST /worker_status/`: Vast's current field set, all accepted. */
export const WorkerStatus = z.object({
  ...WorkerCredentials,
  version: z.string().max(64).optional(),
  url: WorkerUrl.optional(),
  loadtime: Amount.default(0),
  cur_load: Amount.default(0),
  new_load: z.number().finite().min(-1e12).max(1e12).default(0),
  rej_load: Amount.default(0),
  cur_perf: Amount.default(0),
  max_perf: Amount.default(0),
  error_msg: z.string().max(4096).default(""),
  num_requests_working: z.number().int().min(0).max(1e9).optional(),
  num_requests_recieved: z.number().int().min(0).max(1e12).optional(),
  working_request_idxs: z.array(Index).max(100_000).optional(),
  additional_disk_usage: z.number().finite().min(0).max(1e9).optional(),
  /** Ours: lets an agent say "draining" or "error" without guessing from the other fields. */
  state: AgentState.optional(),
  /** Ours: the GPU type the agent benchmarked on, so the scaler can learn perf per dollar. */
  gpu_name: z.string().max(128).optional(),
});
export type WorkerStatus = z.infer<typeof WorkerStatus>;

/** `POST /delete_requests/`: finished requests. */
export const DeleteRequests = z.object({
  ...WorkerCredentials,
  request_idxs: z.array(Index).max(100_000),
});
export type DeleteRequests = z.infer<typeof DeleteRequests>;

/** Vast's `POST /get_endpoint_workers/`. */
export const GetEndpointWorkers = z
  .object({
    endpoint: EndpointName.optional(),
    id: z.number().int().min(0).optional(),
    api_key: z.string().min(1).max(512).optional(),
  })
  .refine((b) => b.endpoint !== undefined || b.id !== undefined, "endpoint or id is required");
export type GetEndpointWorkers = z.infer<typeof GetEndpointWorkers>;
