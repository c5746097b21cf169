// What the admin API (`/api/v1`) answers, as zod schemas: the router's handlers produce these shapes,
// the OpenAPI document describes them (router-worker/src/openapi.ts), the CLI parses them, and a test
// checks live answers against them. Request bodies live beside the parameters they carry (endpoint.ts).
import { z } from "zod";
import { Endpoint, EndpointState, WorkerGroup } from "./endpoint.ts";
import { LoadBucket, WorkerSnapshot } from "./snapshot.ts";
import { EndpointName } from "./wire.ts";

const num = z.number();
const int = z.number().int();
/** ms since epoch. */
const Millis = int.meta({ description: "ms since epoch" });

/** Every error of the admin API. */
export const ApiError = z.object({ code: z.string(), message: z.string() });
export type ApiError = z.infer<typeof ApiError>;

export const EndpointList = z.object({ endpoints: z.array(Endpoint) });
export type EndpointList = z.infer<typeof EndpointList>;

export const WorkerGroupList = z.object({ workergroups: z.array(WorkerGroup) });
export type WorkerGroupList = z.infer<typeof WorkerGroupList>;

/** The plain key is shown once: only its hash is stored. */
export const KeyCreated = z.object({ id: z.string(), api_key: z.string() });
export type KeyCreated = z.infer<typeof KeyCreated>;

export const KeyRevoked = z.object({ id: z.string(), revoked: z.literal(true) });
export type KeyRevoked = z.infer<typeof KeyRevoked>;

/** A credential for a box attached by hand (its agent reports with `id` and `mtoken`). */
export const WorkerAttached = z.object({ id: z.string(), mtoken: z.string(), endpoint: EndpointName, group: z.string().nullable() });
export type WorkerAttached = z.infer<typeof WorkerAttached>;

/** Live workers, as the endpoint's Durable Object knows them from their reports. */
export const LiveWorkerList = z.object({ workers: z.array(WorkerSnapshot) });
export type LiveWorkerList = z.infer<typeof LiveWorkerList>;

/** An entry of the event log: admin changes, scaling decisions and Vast calls with their reasons. */
export const AdminEvent = z.object({
  id: int,
  at: Millis,
  endpoint: z.string().nullable(),
  /** admin, scale */
  kind: z.string(),
  action: z.string(),
  reason: z.string(),
  outcome: z.string(),
  detail: z.record(z.string(), z.unknown()).nullable(),
});
export type AdminEvent = z.infer<typeof AdminEvent>;

export const EventList = z.object({ events: z.array(AdminEvent) });
export type EventList = z.infer<typeof EventList>;

// ---------------------------------------------------------------- read routes for the CLI and dashboard

/** The scaler's intent for a rented instance (the ledger's status; docs/scaler.md, "Ledger"). */
export const InstanceStatus = z.enum(["creating", "running", "stopped", "destroying"]);
export type InstanceStatus = z.infer<typeof InstanceStatus>;

/** An open row of the scaler's instance ledger. */
export const Instance = z.object({
  /** Our worker id (the same id the endpoint's live workers carry). */
  id: z.string(),
  vast_instance_id: int.nullable(),
  group: z.string().nullable(),
  status: InstanceStatus,
  gpu_name: z.string().nullable(),
  /** $/h while the GPU is billed (null: not known yet). */
  dph_total: num.nullable(),
  /** The GPU is paid for in every status but stopped. */
  billed: z.boolean(),
  /** Last measured max_perf, kept while stopped (the cold tier's capacity). */
  perf: num.nullable(),
  created_at: Millis,
  state_since: Millis.nullable(),
  ready_at: Millis.nullable(),
});
export type Instance = z.infer<typeof Instance>;

/** GPU cost as the scaler's ledger counts it (storage of stopped instances not included). */
export const CostSummary = z.object({
  /** Σ dph_total of billed instances now. */
  dph_now: num,
  /** $ since `day_start` (00:00 UTC), from the ledger's create/start/stop/destroy record. */
  spent_today: num,
  day_start: Millis,
  now: Millis,
});
export type CostSummary = z.infer<typeof CostSummary>;

export const InstanceList = z.object({ instances: z.array(Instance), cost: CostSummary });
export type InstanceList = z.infer<typeof InstanceList>;

/** One scaling decision of the scaler (its `decide` event): what it aimed for and what it saw. */
export const ScalerDecision = z.object({
  at: Millis,
  mode: z.string(),
  /** Load the plan sized for, units/s. */
  predicted: num,
  /** Hot capacity aimed for, units/s. */
  target: num,
  /** Capacity of ready workers, units/s. */
  ready_capacity: num,
  hot: int,
  /** Stopped-but-loaded instances (the cold tier). */
  cold: int,
  billed_dph: num,
});
export type ScalerDecision = z.infer<typeof ScalerDecision>;

export const MetricsQuery = z.object({
  /** History length, seconds (10-s buckets). */
  window_s: z.coerce.number().int().min(60).max(3600).default(3600),
});
export type MetricsQuery = z.infer<typeof MetricsQuery>;

/** An endpoint's load against its capacity over a window, every 10-s bucket present (gaps are zeros). */
export const EndpointMetrics = z.object({
  endpoint: EndpointName,
  now: Millis,
  bucket_ms: int,
  buckets: z.array(LoadBucket.extend({ hot_capacity: num })),
  /** Requests waiting at the edge now. */
  waiting: z.object({ requests: int, workload: num }),
  last_request_at: Millis.nullable(),
  /** The scaler's decisions within the window, oldest first. */
  scaler: z.array(ScalerDecision),
});
export type EndpointMetrics = z.infer<typeof EndpointMetrics>;

/** Live workers by phase. */
export const PhaseCounts = z.object({ loading: int, ready: int, draining: int, error: int, stale: int });
export type PhaseCounts = z.infer<typeof PhaseCounts>;

/** One endpoint at a glance. */
export const EndpointSummary = z.object({
  name: EndpointName,
  endpoint_state: EndpointState,
  workers: PhaseCounts,
  /** Σ max_perf of ready workers, units/s. */
  hot_capacity: num,
  /** Σ perf of stopped instances, units/s. */
  cold_capacity: num,
  /** Σ cur_load + pending_load of live workers. */
  load: num,
  cost: CostSummary,
});
export type EndpointSummary = z.infer<typeof EndpointSummary>;

export const Overview = z.object({ now: Millis, endpoints: z.array(EndpointSummary) });
export type Overview = z.infer<typeof Overview>;
