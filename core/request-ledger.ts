// The requests an endpoint's router object knows, by request_idx: what each costs, which worker it
// was routed to (null while it waits at the edge), and until when a re-poll may still name it (its
// replay timeout). Pure and in memory, with explicit `now`: the object keeps one, the tests drive it.
// Worker-side bookkeeping (the load routed to a worker but not yet in its reports) stays with the
// workers: the ledger tells its owner, through `onUnassign`, when a request leaves a worker.

export interface LedgerEntry {
  cost: number;
  /** The worker it was routed to; null while it waits for one. */
  worker_id: string | null;
  first_seen: number;
  /** Its last /route/ call (first or re-poll). */
  touched: number;
  /** When a re-poll can no longer name it (ms). */
  expires: number;
}

export interface OpenedRequest {
  idx: number;
  entry: LedgerEntry;
  /** True for a new request; false for a re-poll of a known one (its load is not counted again). */
  fresh: boolean;
}

export class RequestLedger {
  private readonly entries = new Map<number, LedgerEntry>();
  /** Second → request ids whose replay timeout ends then (see `sweep`). */
  private readonly expiry = new Map<number, number[]>();
  private swept = 0;

  constructor(private readonly onUnassign: (idx: number, workerId: string) => void = () => {}) {}

  get size(): number {
    return this.entries.size;
  }

  has(idx: number): boolean {
    return this.entries.has(idx);
  }

  /**
   * The request a /route/ call is about. A known `requestIdx` is a re-poll or a retry elsewhere: its
   * load leaves the worker it was routed to (it is never added twice) and it lives at least
   * `replayMs` more. Anything else is a new request under the id `newIdx` gives.
   */
  open(requestIdx: number | undefined, cost: number, now: number, replayMs: number, newIdx: () => number): OpenedRequest {
    this.sweep(now);
    const known = requestIdx !== undefined && requestIdx > 0 ? this.entries.get(requestIdx) : undefined;
    if (known && requestIdx !== undefined) {
      this.unassign(requestIdx, known);
      known.touched = now;
      if (now + replayMs > known.expires) {
        known.expires = now + replayMs;
        this.schedule(requestIdx, known.expires);
      }
      return { idx: requestIdx, entry: known, fresh: false };
    }
    const idx = newIdx();
    const entry: LedgerEntry = { cost, worker_id: null, first_seen: now, touched: now, expires: now + replayMs };
    this.entries.set(idx, entry);
    this.schedule(idx, entry.expires);
    return { idx, entry, fresh: true };
  }

  /** The request now goes to this worker. */
  assign(idx: number, workerId: string): void {
    const entry = this.entries.get(idx);
    if (entry) entry.worker_id = workerId;
  }

  /** The worker reports the request done: true if it was this worker's (it leaves the ledger). */
  finish(idx: number, workerId: string): boolean {
    const entry = this.entries.get(idx);
    if (!entry || entry.worker_id !== workerId) return false;
    this.unassign(idx, entry);
    this.entries.delete(idx);
    return true;
  }

  /** Forgets every routed request (their workers are gone); waiting ones stay. */
  dropAssigned(): void {
    for (const [idx, entry] of this.entries) if (entry.worker_id !== null) this.entries.delete(idx);
  }

  /**
   * Drops requests past their replay timeout. A timing wheel of one slot per second makes this
   * O(expired) rather than a pass over every live request; a slot's entries are re-checked because
   * a re-poll may have extended an entry's life since it was scheduled.
   */
  sweep(now: number): void {
    const until = Math.floor(now / 1000);
    if (until <= this.swept) return;
    for (const [second, idxs] of this.expiry) {
      if (second > until) continue;
      this.expiry.delete(second);
      for (const idx of idxs) {
        const entry = this.entries.get(idx);
        if (entry && entry.expires <= now) {
          this.unassign(idx, entry);
          this.entries.delete(idx);
        }
      }
    }
    this.swept = until;
  }

  /** How many requests without a worker arrived before this one (also once it left the ledger). */
  queuePosition(idx: number, entry: LedgerEntry): number {
    let ahead = 0;
    for (const [other, r] of this.entries) {
      if (other !== idx && r.worker_id === null && r.first_seen < entry.first_seen) ahead++;
    }
    return ahead;
  }

  /** Requests waiting at the edge: without a worker, polled within the last `windowMs`. */
  waiting(now: number, windowMs: number): { requests: number; workload: number } {
    this.sweep(now);
    let requests = 0;
    let workload = 0;
    for (const r of this.entries.values()) {
      if (r.worker_id === null && now - r.touched <= windowMs) {
        requests++;
        workload += r.cost;
      }
    }
    return { requests, workload };
  }

  private unassign(idx: number, entry: LedgerEntry): void {
    if (entry.worker_id === null) return;
    const workerId = entry.worker_id;
    entry.worker_id = null;
    this.onUnassign(idx, workerId);
  }

  /** Checks `idx` for expiry in the second its replay timeout ends. */
  private schedule(idx: number, expires: number): void {
    const second = Math.ceil(expires / 1000);
    const slot = this.expiry.get(second);
    if (slot) slot.push(idx);
    else this.expiry.set(second, [idx]);
  }
}
