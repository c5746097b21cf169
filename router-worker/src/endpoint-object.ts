// One Durable Object per endpoint: the live state of its workers and the routing decision.
// Coarse typed RPC methods (route, report, finish, snapshot, workers, reload), each a whole job.
// Durable in its SQLite: the reqnum counter (reserved in blocks, so a restart never reuses one),
// each worker's last report (so routing resumes at once after an eviction) and the load history's
// 10-s buckets (so the scaler's forecast survives one): a bucket is stored when it closes, and the open
// one by an alarm within OPEN_BUCKET_FLUSH_MS of a change, so at most a second of counts is lost.
// The parts it coordinates: its workers (worker-roster.ts), the requests in flight
// (core/request-ledger.ts), the load history (load-history.ts, stored by load-history-store.ts) and
// the per-key limit (core/key-rate-limit.ts).
import { DurableObject } from "cloudflare:workers";
import type { GroupTraffic } from "../../core/group-metrics.ts";
import { groupByShare, pickAcrossGroups } from "../../core/group-routing.ts";
import { KeyRateLimit } from "../../core/key-rate-limit.ts";
import { RequestLedger } from "../../core/request-ledger.ts";
import { phaseOf } from "../../core/routing.ts";
import type { EndpointSnapshot, LoadBucket, WorkerSnapshot } from "../../core/snapshot.ts";
import type { WorkerStatus } from "../../core/wire.ts";
import { log } from "../../core/log.ts";
import { WorkerRoster, type SqlWrite, type WorkerRecord } from "./worker-roster.ts";
import { loadConfig, type RouterConfig } from "./config.ts";
import { database, loadRoutingConfig, type RoutingConfig } from "./endpoint-store.ts";
import { LoadHistory } from "./load-history.ts";
import { LOAD_BUCKETS_TABLE, LoadHistoryStore } from "./load-history-store.ts";

/** reqnums are reserved this many at a time: one storage write per block, none per route. */
const SEQ_BLOCK = 1024;
/** D1 is re-read at least this often, even if an admin change failed to reach us. */
const CONFIG_TTL_MS = 60_000;
const MISSING_CONFIG_TTL_MS = 5_000;
/** At most one "needs capacity now" call per endpoint this often. */
const SCALE_NOW_INTERVAL_MS = 5_000;
/** A request without a worker counts as waiting at the edge for this long after its last poll. */
const WAITING_WINDOW_MS = 10_000;
const DEFAULT_REPLAY_TIMEOUT_S = 60;
/**
 * The open bucket is stored this long after its first unsaved change. Without it the last bucket of
 * a burst was lost whenever the object was evicted before another call closed it: idle eviction
 * (70-140 s in production, 10 s in workerd) always came first once traffic stopped. One alarm and one
 * row per second at most, only while the endpoint has traffic or reports.
 */
const OPEN_BUCKET_FLUSH_MS = 1_000;

export interface RouteCall {
  endpoint: string;
  keyHash: string;
  cost: number;
  request_idx?: number;
  replay_timeout?: number;
}

export type RouteOutcome =
  | { kind: "ready"; url: string; reqnum: number; request_idx: number; cost: number; worker_id: string }
  | { kind: "waiting"; status: string; request_idx: number; queue_position: number }
  | { kind: "not_found" }
  | { kind: "unauthorized" }
  | { kind: "rate_limited"; retry_after_s: number };

/** Who reports, as the Worker authenticated it (never the mtoken). */
export interface ReportingWorker {
  id: string;
  endpoint: string;
  /** The endpoint row the worker was created for: it must be the one this object serves now. */
  endpoint_id: number;
  group: string | null;
}

export class EndpointObject extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly settings: RouterConfig;
  private seq = 0;
  private seqCeiling = 0;
  private lastRequestAt: number | null = null;
  private lastRequestPersisted = 0;
  private tablesReady = false;
  /** The endpoint row this object's workers belong to (a deleted endpoint's name may be reused). */
  private endpointId: number | null = null;
  private config: { value: RoutingConfig | null; loadedAt: number } | undefined;
  private configLoading: Promise<RoutingConfig | null> | undefined;
  private readonly workers: WorkerRoster;
  private readonly requests = new RequestLedger((idx, workerId) => this.workers.dropPending(workerId, idx));
  private readonly history: LoadHistory;
  private readonly stored: LoadHistoryStore;
  private readonly waiters = new Set<() => void>();
  private readonly rate: KeyRateLimit;
  private held = 0;
  private lastScaleNow = 0;
  /** An alarm will store the open bucket (see OPEN_BUCKET_FLUSH_MS). */
  private flushPending = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.settings = loadConfig(env);
    this.rate = new KeyRateLimit(this.settings.ROUTE_RATE_PER_KEY);
    const write: SqlWrite = (query, ...bindings) => this.write(query, ...bindings);
    this.workers = new WorkerRoster(this.settings.STALE_AFTER_MS, write);
    this.stored = new LoadHistoryStore(this.sql, write);
    const keep = (b: LoadBucket) => this.stored.close(b);
    // Tables are created by the first write, which only an existing endpoint makes: a /route/ call
    // naming an unknown endpoint leaves nothing stored (anyone can send those, without a key).
    this.tablesReady = this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('meta', 'workers')`).one().n === 2;
    if (!this.tablesReady) {
      this.history = new LoadHistory([], keep);
      return;
    }
    for (const row of this.sql.exec<{ key: string; value: string }>(`SELECT key, value FROM meta`)) {
      if (row.key === "seq_ceiling") this.seq = this.seqCeiling = Number(row.value);
      if (row.key === "last_request_at") this.lastRequestAt = this.lastRequestPersisted = Number(row.value);
      if (row.key === "endpoint_id") this.endpointId = Number(row.value);
    }
    this.workers.restore(this.sql.exec<{ state: string }>(`SELECT state FROM workers`));
    this.history = new LoadHistory(this.stored.restore(Date.now()), keep);
  }

  // ------------------------------------------------------------------ RPC

  /** Authenticates the key, then picks a worker, holding the call while none is ready. */
  async route(call: RouteCall): Promise<RouteOutcome> {
    const config = await this.routingConfig(call.endpoint);
    if (!config) return { kind: "not_found" };
    if (!config.keyHashes.includes(call.keyHash)) return { kind: "unauthorized" };
    const now = Date.now();
    const retry = this.rate.take(call.keyHash, now);
    if (retry > 0) return { kind: "rate_limited", retry_after_s: Math.ceil(retry) };
    this.noteActivity(now);

    const replayMs = (call.replay_timeout ?? DEFAULT_REPLAY_TIMEOUT_S) * 1000;
    const { idx, entry, fresh } = this.requests.open(call.request_idx, call.cost, now, replayMs, () => this.nextSeq());
    if (fresh) {
      const bucket = this.bucket(now);
      bucket.arrived += call.cost;
      bucket.requests += 1;
      if (config.groups.length > 0) {
        const demand = LoadHistory.group(bucket, groupByShare(config.groups, idx)?.name ?? "");
        demand.arrived += call.cost;
        demand.requests += 1;
      }
    }

    if (config.params.endpoint_state === "stopped") {
      return { kind: "waiting", status: "endpoint stopped", request_idx: idx, queue_position: 0 };
    }

    const deadline = now + this.settings.ROUTE_HOLD_MS;
    this.held++;
    const holding = this.bucket(now);
    holding.held_peak = Math.max(holding.held_peak, this.held);
    try {
      for (;;) {
        const t = Date.now();
        const members = this.workers.byGroup(config.groups);
        const pick = pickAcrossGroups(config.groups, members, entry.cost, idx, {
          now: t,
          staleAfterMs: this.settings.STALE_AFTER_MS,
          maxQueueTime: config.params.max_queue_time,
        });
        if (pick.kind === "worker") {
          const w = pick.worker as WorkerRecord;
          this.requests.assign(idx, w.id);
          this.workers.addPending(w, idx, entry.cost, t);
          const routed = LoadHistory.group(this.bucket(t), w.group);
          routed.routed += 1;
          routed.routed_workload += entry.cost;
          this.history.recordWait(w.group, pick.wait);
          return { kind: "ready", url: w.url ?? "", reqnum: this.nextSeq(), request_idx: idx, cost: entry.cost, worker_id: w.id };
        }
        if (config.params.endpoint_state === "active") this.askForCapacity(call.endpoint, pick.status, t);
        if (t >= deadline || !this.requests.has(idx)) {
          return { kind: "waiting", status: pick.status, request_idx: idx, queue_position: this.requests.queuePosition(idx, entry) };
        }
        await this.changeOrTimeout(deadline - t);
      }
    } finally {
      this.held--;
      // A held call is activity until it is answered, not just when it arrived.
      this.noteActivity(Date.now());
    }
  }

  /**
   * A worker's `/worker_status/` report (already authenticated by the Worker). False, and nothing
   * recorded, when the worker belongs to another endpoint of the same name (one deleted since).
   */
  async report(worker: ReportingWorker, status: Omit<WorkerStatus, "mtoken">): Promise<boolean> {
    if (!(await this.serves(worker))) return false;
    const now = Date.now();
    const { worker: w, before } = this.workers.report(worker.id, worker.group, status, now);
    const bucket = this.bucket(now);
    bucket.served += status.cur_perf;
    bucket.rejected += status.rej_load;
    if (w.group !== "") LoadHistory.group(bucket, w.group).served += status.cur_perf;
    bucket.hot_capacity = this.workers.readyCapacity(now);
    if (before !== w.reported) {
      log("info", "worker state", { worker: w.id, state: w.reported, error: status.error_msg || undefined });
    }
    if (phaseOf(w, now, this.settings.STALE_AFTER_MS) === "ready") this.wake();
    return true;
  }

  /** `/delete_requests/`: the worker finished these requests (null: it belongs to another endpoint of this name). */
  async finish(worker: ReportingWorker, requestIdxs: number[]): Promise<number | null> {
    if (!(await this.serves(worker))) return null;
    let done = 0;
    for (const idx of requestIdxs) {
      if (this.requests.finish(idx, worker.id) || this.workers.dropPending(worker.id, idx)) done++;
    }
    if (done > 0) this.wake();
    return done;
  }

  /** The load picture the scaler decides from. */
  async snapshot(): Promise<EndpointSnapshot> {
    const now = Date.now();
    const waiting = this.requests.waiting(now, WAITING_WINDOW_MS);
    return {
      endpoint: this.config?.value?.name ?? this.ctx.id.name ?? "",
      now,
      workers: this.workers.list(now),
      buckets: this.history.buckets.map((b) => ({ ...b })),
      waiting,
      last_request_at: this.lastRequestAt,
    };
  }

  /** Live workers, for the admin API. */
  async listWorkers(): Promise<WorkerSnapshot[]> {
    return this.workers.list(Date.now());
  }

  /**
   * The scaler's drain: stop (or resume) routing to these workers. In-flight requests finish; the
   * scaler releases a drained worker once it is idle. Unknown ids are ignored.
   */
  async setDrain(workerIds: string[], drained: boolean): Promise<number> {
    const changed = this.workers.setDrain(workerIds, drained);
    if (changed > 0 && !drained) this.wake();
    return changed;
  }

  /** Forget a worker that was released (the scaler destroyed it, or an admin detached it). */
  async forget(workerId: string): Promise<boolean> {
    return this.workers.forget(workerId);
  }

  /** The cheapest possible call: what a round trip to this object costs (benchmarks, health checks). */
  async ping(): Promise<number> {
    return this.seq;
  }

  /** One worker group's figures over the last hour, from the load history (the admin API adds cost). */
  async groupMetrics(group: string): Promise<GroupTraffic> {
    return this.history.groupTraffic(group, this.workers.members(group), Date.now());
  }

  /** Drops the cached endpoint configuration; the next call re-reads D1. */
  async reload(): Promise<void> {
    this.config = undefined;
    this.configLoading = undefined;
  }

  /** Stores the open bucket (scheduled by `bucket()`); closed ones were stored as they closed. */
  override async alarm(): Promise<void> {
    this.flushPending = false;
    const open = this.history.buckets[this.history.buckets.length - 1];
    if (open && this.tablesReady) this.stored.store(open);
  }

  // ------------------------------------------------------------------ internals

  private async routingConfig(name: string): Promise<RoutingConfig | null> {
    const now = Date.now();
    const c = this.config;
    if (c && now - c.loadedAt < (c.value ? CONFIG_TTL_MS : MISSING_CONFIG_TTL_MS) && (!c.value || c.value.name === name)) {
      return c.value;
    }
    this.configLoading ??= loadRoutingConfig(database(this.env.DB), name).then(
      (value) => {
        if (value) this.adoptEndpoint(value.id);
        this.config = { value, loadedAt: Date.now() };
        this.configLoading = undefined;
        return value;
      },
      (e: unknown) => {
        this.configLoading = undefined;
        throw e;
      },
    );
    return this.configLoading;
  }

  /** Every write goes through here: the tables exist from the first one on. */
  private write(query: string, ...bindings: (string | number)[]): void {
    if (!this.tablesReady) {
      this.sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
      this.sql.exec(`CREATE TABLE IF NOT EXISTS workers (id TEXT PRIMARY KEY, state TEXT NOT NULL)`);
      this.sql.exec(LOAD_BUCKETS_TABLE);
      this.tablesReady = true;
    }
    this.sql.exec(query, ...bindings);
  }

  /** Whether the reporting worker was created for the endpoint this object serves now. */
  private async serves(worker: ReportingWorker): Promise<boolean> {
    const config = await this.routingConfig(worker.endpoint);
    return config !== null && config.id === worker.endpoint_id;
  }

  /**
   * The endpoint row behind this object's name. When it changes (the endpoint was deleted and a new
   * one created with its name), the old endpoint's workers are forgotten: the new one must never
   * route to them. The reqnum counter stays, so reqnums keep increasing across the two.
   */
  private adoptEndpoint(id: number): void {
    if (this.endpointId === id) return;
    if (this.endpointId !== null && this.workers.size > 0) {
      log("info", "endpoint recreated: forgetting the old endpoint's workers", { workers: this.workers.size });
      this.workers.clear();
      this.requests.dropAssigned();
    }
    this.endpointId = id;
    this.write(`INSERT OR REPLACE INTO meta (key, value) VALUES ('endpoint_id', ?)`, String(id));
  }

  private nextSeq(): number {
    this.seq++;
    if (this.seq > this.seqCeiling) {
      this.seqCeiling = this.seq + SEQ_BLOCK;
      this.write(`INSERT OR REPLACE INTO meta (key, value) VALUES ('seq_ceiling', ?)`, String(this.seqCeiling));
    }
    return this.seq;
  }

  private noteActivity(now: number): void {
    this.lastRequestAt = now;
    if (now - this.lastRequestPersisted > 10_000) {
      this.lastRequestPersisted = now;
      this.write(`INSERT OR REPLACE INTO meta (key, value) VALUES ('last_request_at', ?)`, String(now));
    }
  }

  /** The bucket `now` falls in, for a change: the open bucket is stored by the alarm shortly after. */
  private bucket(now: number): LoadBucket {
    if (!this.flushPending) {
      this.flushPending = true;
      this.ctx.storage.setAlarm(now + OPEN_BUCKET_FLUSH_MS).catch((e: unknown) => {
        this.flushPending = false;
        log("warn", "could not schedule the load history's flush", { error: String(e) });
      });
    }
    return this.history.at(now, () => this.workers.readyCapacity(now));
  }

  private changeOrTimeout(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, ms));
      this.waiters.add(done);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Fast path into the scaler: this endpoint needs capacity now (throttled, never awaited by routing). */
  private askForCapacity(endpoint: string, status: string, now: number): void {
    if (now - this.lastScaleNow < SCALE_NOW_INTERVAL_MS) return;
    this.lastScaleNow = now;
    const call = this.env.SCALER.scaleNow(endpoint, status).catch((e: unknown) =>
      log("warn", "scale-now call failed", { endpoint, error: String(e) }),
    );
    this.ctx.waitUntil(call);
  }
}
