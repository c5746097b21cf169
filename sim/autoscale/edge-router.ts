// The endpoint's Durable Object as the simulator needs it: the router's view of its workers
// (reports every second, pending load of what it routed since), its 10-s load buckets, the requests
// held at the edge, and the snapshot the scaler reads. The routing decision itself is core's
// `pickWorker`; the bookkeeping around it follows router-worker/src/endpoint-object.ts.
import { pickWorker, workerSnapshot, type LiveWorker } from "../../core/routing.ts";
import { LOAD_BUCKET_MS, LOAD_HISTORY_BUCKETS, type EndpointSnapshot, type LoadBucket, type WorkerSnapshot } from "../../core/snapshot.ts";
import type { GpuWorker } from "./gpu-worker.ts";
import type { SimRequest } from "./request-state.ts";

/** The router's settings and the endpoint object's constants, at their production defaults. */
export const ROUTER_DEFAULTS = {
  /** ROUTE_HOLD_MS (router-worker/src/config.ts). */
  holdMs: 4000,
  /** STALE_AFTER_MS. */
  staleAfterMs: 30_000,
  /** SCALE_NOW_INTERVAL_MS (endpoint-object.ts). */
  scaleNowIntervalMs: 5000,
  /** WAITING_WINDOW_MS. */
  waitingWindowMs: 10_000,
  /** The agent reports at most once a second while its load changes (REPORT_MIN_INTERVAL_S). */
  reportIntervalMs: 1000,
};

export interface RouterWorker extends LiveWorker {
  gpu_name: string;
  loadtime: number;
  /** Requests routed here that no report has included yet. */
  readonly pendings: Set<SimRequest>;
  worker: GpuWorker | null;
}

export class EdgeRouter {
  readonly records = new Map<string, RouterWorker>();
  readonly buckets: LoadBucket[] = [];
  /** Requests held at the edge right now, oldest first. */
  readonly held = new Set<SimRequest>();
  /** Requests without a worker that a client is still routing (held or between polls). */
  readonly unassigned = new Set<SimRequest>();
  lastRequestAt: number | null = null;
  private lastScaleNow = -Infinity;

  constructor(
    readonly endpoint: string,
    private readonly maxQueueTime: number,
    private readonly staleAfterMs = ROUTER_DEFAULTS.staleAfterMs,
  ) {}

  /** A /route/ call: counts a new request once, moves a re-routed request's pending load. */
  noteCall(req: SimRequest, now: number, isNew: boolean): void {
    this.lastRequestAt = now;
    req.touched = now;
    if (isNew) {
      const b = this.bucket(now);
      b.arrived += req.cost;
      b.requests += 1;
    }
    this.unpend(req);
    this.unassigned.add(req);
  }

  pick(req: SimRequest, now: number): RouterWorker | null {
    const result = pickWorker(this.records.values(), req.cost, { now, staleAfterMs: this.staleAfterMs, maxQueueTime: this.maxQueueTime });
    return result.kind === "worker" ? (result.worker as RouterWorker) : null;
  }

  assign(req: SimRequest, w: RouterWorker): void {
    w.pendings.add(req);
    w.pending_load += req.cost;
    req.pendingOn = w.id;
    this.unassigned.delete(req);
    this.held.delete(req);
  }

  /** The client stopped routing this request (served, or gave up). */
  release(req: SimRequest): void {
    this.unpend(req);
    this.unassigned.delete(req);
    this.held.delete(req);
  }

  hold(req: SimRequest, now: number): void {
    this.held.add(req);
    const b = this.bucket(now);
    b.held_peak = Math.max(b.held_peak, this.held.size);
  }

  /** The endpoint object's throttle on scale-now calls: true when a call may go out now. */
  mayAskForCapacity(now: number, intervalMs: number): boolean {
    if (now - this.lastScaleNow < intervalMs) return false;
    this.lastScaleNow = now;
    return true;
  }

  /** The agent started and reports "loading". */
  addLoading(id: string, gpu_name: string, now: number): void {
    this.records.set(id, { id, url: null, reported: "loading", cur_load: 0, pending_load: 0, max_perf: 0, last_report_at: now, gpu_name, loadtime: 0, pendings: new Set(), worker: null });
  }

  markReady(id: string, worker: GpuWorker, loadtime: number, now: number): void {
    const r = this.records.get(id);
    if (!r) return;
    r.reported = "ready";
    r.url = `http://${id}.sim:3000`;
    r.max_perf = worker.maxPerf;
    r.loadtime = loadtime;
    r.worker = worker;
    r.last_report_at = now;
  }

  /**
   * `setDrain` of the endpoint object: no new requests (pickWorker skips "draining"); what it holds
   * finishes. Unknown workers are ignored. The flag is the scaler's, apart from the agent's own state.
   */
  setDraining(id: string, draining: boolean): void {
    const r = this.records.get(id);
    if (r) r.drained = draining;
  }

  isDraining(id: string): boolean {
    return this.records.get(id)?.drained === true;
  }

  /** The scaler released the worker (stop or destroy): forget it and whatever was pending on it. */
  forget(id: string): void {
    const r = this.records.get(id);
    if (!r) return;
    for (const req of r.pendings) req.pendingOn = null;
    this.records.delete(id);
  }

  /** Every worker's report: in-flight load now, pending cleared (the report lists what it holds). */
  reportAll(now: number): void {
    const b = this.bucket(now);
    for (const r of this.records.values()) {
      r.last_report_at = now;
      const w = r.worker;
      if (!w) continue;
      r.cur_load = w.inflightLoad;
      b.served += w.servedSinceReport;
      w.servedSinceReport = 0;
      for (const req of r.pendings) req.pendingOn = null;
      r.pendings.clear();
      r.pending_load = 0;
    }
  }

  /** A worker refused a request with 429 (`rej_load`). */
  noteRejected(req: SimRequest, now: number): void {
    this.bucket(now).rejected += req.cost;
  }

  /** What the scaler's `snapshot()` RPC returns. Buckets are shared, not copied: readers never write. */
  snapshot(now: number, waitingWindowMs = ROUTER_DEFAULTS.waitingWindowMs): EndpointSnapshot {
    let requests = 0;
    let workload = 0;
    for (const r of this.unassigned) {
      if (now - r.touched <= waitingWindowMs) {
        requests++;
        workload += r.cost;
      }
    }
    const workers: WorkerSnapshot[] = [...this.records.values()]
      .map((w) => workerSnapshot(w, now, this.staleAfterMs))
      .sort((a, b) => a.id.localeCompare(b.id));
    return { endpoint: this.endpoint, now, workers, buckets: this.buckets, waiting: { requests, workload }, last_request_at: this.lastRequestAt };
  }

  private unpend(req: SimRequest): void {
    if (req.pendingOn === null) return;
    const w = this.records.get(req.pendingOn);
    req.pendingOn = null;
    if (!w || !w.pendings.delete(req)) return;
    w.pending_load = w.pendings.size === 0 ? 0 : w.pending_load - req.cost;
  }

  /** `finish()` of the endpoint object: a finished request leaves its worker's pending load. */
  finished(req: SimRequest): void {
    this.unpend(req);
  }

  private bucket(now: number): LoadBucket {
    const start = now - (now % LOAD_BUCKET_MS);
    const last = this.buckets[this.buckets.length - 1];
    if (last && last.start === start) return last;
    const fresh: LoadBucket = { start, arrived: 0, requests: 0, served: 0, rejected: 0, held_peak: 0 };
    this.buckets.push(fresh);
    if (this.buckets.length > LOAD_HISTORY_BUCKETS) this.buckets.shift();
    return fresh;
  }
}
