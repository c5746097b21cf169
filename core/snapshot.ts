// The load picture an endpoint's Durable Object hands the scaler (`snapshot()` RPC), and what the
// admin API shows of live workers. Produced by the router, consumed by the scaler and the simulator.
import type { WorkerPhase } from "./routing.ts";

export interface WorkerSnapshot {
  id: string;
  url: string | null;
  phase: WorkerPhase;
  cur_load: number;
  pending_load: number;
  max_perf: number;
  /** Seconds since the worker last reported. */
  last_report_age_s: number;
  loadtime: number;
  error_msg: string;
  gpu_name: string | null;
  version: string | null;
  /** Draining at the scaler's request (`setDrain`), as opposed to the agent's own drain on SIGTERM. */
  drained?: boolean;
}

/** One 10-second bucket of the endpoint's recent history. */
export interface LoadBucket {
  /** ms since epoch, a multiple of `LOAD_BUCKET_MS`. */
  start: number;
  /** Workload of new requests that arrived at /route/. */
  arrived: number;
  /** New requests that arrived. */
  requests: number;
  /** Workload the workers reported served (sum of `cur_perf`). */
  served: number;
  /** Workload the workers reported rejected with 429 (sum of `rej_load`). */
  rejected: number;
  /** Most requests held at the edge at once during the bucket. */
  held_peak: number;
}

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
