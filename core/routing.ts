// The routing decision, pure: which worker gets the next request. Run by the endpoint's Durable
// Object on every /route/ and by the autoscaling simulator, so both route the same way.
import type { WorkerSnapshot } from "./snapshot.ts";

export type WorkerPhase = "loading" | "ready" | "draining" | "error" | "stale";

/** What the router knows of one worker, from its reports and from what it routed since. */
export interface LiveWorker {
  id: string;
  url: string | null;
  /** The state the agent declared, or one inferred from Vast's fields. */
  reported: "loading" | "ready" | "draining" | "error";
  /** Workload in flight at the last report. */
  cur_load: number;
  /** Workload routed to it that its last report did not yet include. */
  pending_load: number;
  /** Measured capacity, workload units/s (0 until benchmarked). */
  max_perf: number;
  /** ms since epoch of the last report. */
  last_report_at: number;
  /** The scaler asked the router to stop sending it requests (it is released once idle). */
  drained?: boolean;
}

export interface RoutingLimits {
  now: number;
  /** No report for this long (ms) → the worker is stale and never chosen. */
  staleAfterMs: number;
  /** Seconds of queued work beyond which a worker is not chosen. */
  maxQueueTime: number;
}

export function phaseOf(w: LiveWorker, now: number, staleAfterMs: number): WorkerPhase {
  if (w.reported === "error") return "error";
  if (now - w.last_report_at > staleAfterMs) return "stale";
  if (w.reported === "draining" || w.drained) return "draining";
  if (w.reported === "ready" && w.url !== null && w.max_perf > 0) return "ready";
  return "loading";
}

/** What a worker's snapshot adds to the live record (`group`: its group id as a string, "" for none). */
export interface SnapshotDetails {
  loadtime: number;
  gpu_name: string | null;
  error_msg?: string;
  version?: string | null;
  group?: string;
}

/** A live worker as the scaler and the admin API see it (the router object and the simulator alike). */
export function workerSnapshot(w: LiveWorker & SnapshotDetails, now: number, staleAfterMs: number): WorkerSnapshot {
  return {
    id: w.id,
    url: w.url,
    phase: phaseOf(w, now, staleAfterMs),
    cur_load: w.cur_load,
    pending_load: w.pending_load,
    max_perf: w.max_perf,
    last_report_age_s: Math.max(0, (now - w.last_report_at) / 1000),
    loadtime: w.loadtime,
    error_msg: w.error_msg ?? "",
    gpu_name: w.gpu_name,
    version: w.version ?? null,
    drained: Boolean(w.drained),
    ...(w.group === undefined ? {} : { group_id: w.group === "" ? null : Number(w.group) }),
  };
}

/** Seconds of work ahead of a request of `cost` on this worker. */
export function expectedWait(w: LiveWorker, cost: number): number {
  return (w.cur_load + w.pending_load + cost) / w.max_perf;
}

export type PickResult =
  | { kind: "worker"; worker: LiveWorker; wait: number }
  | { kind: "none"; status: string; loading: number; busy: number; total: number };

/**
 * The ready worker with the lowest expected wait, skipping stale, errored, loading and draining
 * workers and those whose queue would exceed `maxQueueTime`. An idle worker is always eligible,
 * so a request costlier than `maxQueueTime × max_perf` is still served somewhere.
 * Greedy lowest-wait spreads a burst across workers in proportion to `max_perf`.
 */
export function pickWorker(workers: Iterable<LiveWorker>, cost: number, limits: RoutingLimits): PickResult {
  let best: LiveWorker | null = null;
  let bestWait = Infinity;
  let loading = 0;
  let busy = 0;
  let total = 0;
  for (const w of workers) {
    total++;
    const phase = phaseOf(w, limits.now, limits.staleAfterMs);
    if (phase === "loading") loading++;
    if (phase !== "ready") continue;
    const wait = expectedWait(w, cost);
    const idle = w.cur_load + w.pending_load === 0;
    if (wait > limits.maxQueueTime && !idle) {
      busy++;
      continue;
    }
    if (wait < bestWait || (wait === bestWait && best !== null && w.id < best.id)) {
      best = w;
      bestWait = wait;
    }
  }
  if (best) return { kind: "worker", worker: best, wait: bestWait };
  return { kind: "none", status: statusInWords(total, loading, busy), loading, busy, total };
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/** Why no worker could take a request, in the words `/route/` answers with. */
export function statusInWords(total: number, loading: number, busy: number): string {
  if (total === 0) return "no workers: scaling up";
  if (busy > 0) return `busy: ${plural(busy, "worker")} at max_queue_time${loading ? `, ${loading} starting` : ""}`;
  if (loading > 0) return `loading: ${plural(loading, "worker")} starting`;
  return `unavailable: ${plural(total, "worker")}, none ready`;
}
