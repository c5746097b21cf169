// The load picture an endpoint's Durable Object hands the scaler (`snapshot()` RPC), and what the
// admin API shows of live workers. Produced by the router, consumed by the scaler and the simulator.
// Zod schemas, because the admin API answers with these shapes: its OpenAPI document and the CLI
// read them from here.
import { z } from "zod";
import type { WorkerPhase } from "./routing.ts";

const num = z.number();

export const WorkerSnapshot = z.object({
  id: z.string(),
  url: z.string().nullable(),
  phase: z.enum(["loading", "ready", "draining", "error", "stale"] as const satisfies readonly WorkerPhase[]),
  /** Workload in flight at the last report. */
  cur_load: num,
  /** Workload routed since the last report and not yet in it. */
  pending_load: num,
  /** Measured capacity, workload units/s (0 until benchmarked). */
  max_perf: num,
  /** Seconds since the worker last reported. */
  last_report_age_s: num,
  loadtime: num,
  error_msg: z.string(),
  gpu_name: z.string().nullable(),
  version: z.string().nullable(),
  /** Draining at the scaler's request (`setDrain`), as opposed to the agent's own drain on SIGTERM. */
  drained: z.boolean().optional(),
  /** Its worker group's id (null: none). */
  group_id: z.number().int().nullable().optional(),
});
export type WorkerSnapshot = z.infer<typeof WorkerSnapshot>;

/** One worker group's share of a bucket (keyed by group id; "" for workers of no group). */
export const GroupBucket = z.object({
  /** Workload of new requests whose share-weighted draw fell on this group: its demand. */
  arrived: num,
  requests: num,
  /** Requests and workload actually routed to the group's workers (overflow and spills included). */
  routed: num,
  routed_workload: num,
  /** Workload its workers reported served. */
  served: num,
});
export type GroupBucket = z.infer<typeof GroupBucket>;

/** One 10-second bucket of the endpoint's recent history. */
export const LoadBucket = z.object({
  /** ms since epoch, a multiple of `LOAD_BUCKET_MS`. */
  start: num,
  /** Workload of new requests that arrived at /route/. */
  arrived: num,
  /** New requests that arrived. */
  requests: num,
  /** Workload the workers reported served (sum of `cur_perf`). */
  served: num,
  /** Workload the workers reported rejected with 429 (sum of `rej_load`). */
  rejected: num,
  /** Most requests held at the edge at once during the bucket. */
  held_peak: num,
  /**
   * Hot capacity (Σ max_perf of ready workers, units/s) as of the bucket's last report or arrival:
   * the dashboard charts load against it. The router records it; the simulator does not.
   */
  hot_capacity: num.optional(),
  /** Per worker group (id → share of this bucket), when the endpoint has groups. */
  by_group: z.record(z.string(), GroupBucket).optional(),
});
export type LoadBucket = z.infer<typeof LoadBucket>;

export const LOAD_BUCKET_MS = 10_000;
export const LOAD_HISTORY_BUCKETS = 360; // one hour

export interface EndpointSnapshot {
  endpoint: string;
  /** ms since epoch at which the snapshot was taken. */
  now: number;
  workers: WorkerSnapshot[];
  /** Oldest first, at most `LOAD_HISTORY_BUCKETS`. */
  buckets: LoadBucket[];
  /** Requests waiting at the edge right now (held or re-polling without a worker). */
  waiting: { requests: number; workload: number };
  /** ms since epoch of the last /route/ call with a valid key, or null if none was ever seen. */
  last_request_at: number | null;
}
