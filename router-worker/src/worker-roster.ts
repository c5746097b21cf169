// An endpoint's workers as its Durable Object knows them: each one's last report (stored, one row
// per worker, so routing resumes at once after an eviction) and the load routed to it that its
// reports do not show yet (memory only: it is seconds old by nature). The object decides; the roster
// keeps the records, their storage and the views routing, the scaler and the admin API read.
import { phaseOf, workerSnapshot, type LiveWorker } from "../../core/routing.ts";
import type { WorkerSnapshot } from "../../core/snapshot.ts";
import type { WorkerStatus } from "../../core/wire.ts";

/** Routed load not yet seen in a report is forgotten after this long (the client never came, or finished). */
const PENDING_GRACE_MS = 5_000;

export interface WorkerRecord extends LiveWorker {
  /** Worker group id as a string ("" when it belongs to none). */
  group: string;
  loadtime: number;
  error_msg: string;
  gpu_name: string | null;
  version: string | null;
  /** request_idx → routed load not yet in a report. Memory only. */
  pendings: Map<number, { cost: number; at: number }>;
}

type PersistedWorker = Omit<WorkerRecord, "pendings" | "pending_load">;

/** Runs one statement on the object's SQLite (the object creates its tables with the first write). */
export type SqlWrite = (query: string, ...bindings: (string | number)[]) => void;

export class WorkerRoster {
  private readonly workers = new Map<string, WorkerRecord>();

  constructor(
    private readonly staleAfterMs: number,
    private readonly write: SqlWrite,
  ) {}

  /** The stored records of a restarted object (no routed load: that was in memory). */
  restore(rows: Iterable<{ state: string }>): void {
    for (const row of rows) {
      const w = JSON.parse(row.state) as PersistedWorker;
      this.workers.set(w.id, { ...w, group: w.group ?? "", pending_load: 0, pendings: new Map() });
    }
  }

  get size(): number {
    return this.workers.size;
  }

  get(id: string): WorkerRecord | undefined {
    return this.workers.get(id);
  }

  /**
   * Records a report: what the worker says now, what it kept from before (url, GPU, version, drain,
   * group) when the report leaves it out, and the routed load it does not list yet. Returns the new
   * record and the state it had before (undefined for a worker not seen yet).
   */
  report(workerId: string, group: string | null, status: Omit<WorkerStatus, "mtoken">, now: number): { worker: WorkerRecord; before: WorkerRecord["reported"] | undefined } {
    const prev = this.workers.get(workerId);
    const w: WorkerRecord = {
      id: workerId,
      url: status.url ?? prev?.url ?? null,
      reported: status.state ?? (status.error_msg ? "error" : status.loadtime > 0 && status.max_perf > 0 ? "ready" : "loading"),
      cur_load: status.cur_load,
      pending_load: 0,
      max_perf: status.max_perf,
      last_report_at: now,
      loadtime: status.loadtime,
      error_msg: status.error_msg,
      gpu_name: status.gpu_name ?? prev?.gpu_name ?? null,
      version: status.version ?? prev?.version ?? null,
      pendings: prev?.pendings ?? new Map(),
      drained: prev?.drained ?? false,
      group: group ?? prev?.group ?? "",
    };
    const working = new Set(status.working_request_idxs ?? []);
    for (const [idx, p] of w.pendings) {
      if (working.has(idx) || p.at < now - PENDING_GRACE_MS) w.pendings.delete(idx);
    }
    recomputePending(w);
    this.workers.set(workerId, w);
    this.store(w);
    return { worker: w, before: prev?.reported };
  }

  /** A request was routed to this worker: its load counts until a report lists it or it is done. */
  addPending(w: WorkerRecord, idx: number, cost: number, now: number): void {
    w.pendings.set(idx, { cost, at: now });
    w.pending_load += cost;
  }

  /** The request left the worker (done, re-polled elsewhere, expired): true if it still counted there. */
  dropPending(workerId: string, idx: number): boolean {
    const w = this.workers.get(workerId);
    if (!w?.pendings.delete(idx)) return false;
    recomputePending(w);
    return true;
  }

  /** Sets the drain flag of these workers (unknown ids ignored); returns how many changed. */
  setDrain(workerIds: readonly string[], drained: boolean): number {
    let changed = 0;
    for (const id of workerIds) {
      const w = this.workers.get(id);
      if (!w || Boolean(w.drained) === drained) continue;
      w.drained = drained;
      this.store(w);
      changed++;
    }
    return changed;
  }

  forget(workerId: string): boolean {
    const had = this.workers.delete(workerId);
    this.write(`DELETE FROM workers WHERE id = ?`, workerId);
    return had;
  }

  /** Forgets every worker (the endpoint they belonged to is gone). */
  clear(): void {
    this.workers.clear();
    this.write(`DELETE FROM workers`);
  }

  /** Σ max_perf of the workers routing would pick from now (the capacity history the dashboard charts). */
  readyCapacity(now: number): number {
    let sum = 0;
    for (const w of this.workers.values()) if (phaseOf(w, now, this.staleAfterMs) === "ready") sum += w.max_perf;
    return sum;
  }

  /** A group's workers, for its metrics. */
  members(group: string): WorkerRecord[] {
    return [...this.workers.values()].filter((w) => w.group === group);
  }

  /**
   * A group's workers (null: the ungrouped ones); workers of a group the endpoint no longer lists
   * count as ungrouped. An endpoint without groups (the common case) has only ungrouped workers: no
   * grouping is built for each request then.
   */
  byGroup(groups: readonly { name: string }[]): (group: string | null) => Iterable<WorkerRecord> {
    if (groups.length === 0) return (g) => (g === null || g === "" ? this.workers.values() : []);
    const known = new Set(groups.map((g) => g.name));
    const out = new Map<string, WorkerRecord[]>();
    for (const w of this.workers.values()) {
      const key = known.has(w.group) ? w.group : "";
      const list = out.get(key);
      if (list) list.push(w);
      else out.set(key, [w]);
    }
    return (g) => out.get(g ?? "") ?? [];
  }

  /** Every worker as the scaler and the admin API see it, by id. */
  list(now: number): WorkerSnapshot[] {
    return [...this.workers.values()]
      .map((w) => workerSnapshot(w, now, this.staleAfterMs))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  private store(w: WorkerRecord): void {
    const { pendings: _p, pending_load: _l, ...persisted } = w;
    this.write(`INSERT OR REPLACE INTO workers (id, state) VALUES (?, ?)`, w.id, JSON.stringify(persisted));
  }
}

function recomputePending(w: WorkerRecord): void {
  let sum = 0;
  for (const p of w.pendings.values()) sum += p.cost;
  w.pending_load = sum;
}
