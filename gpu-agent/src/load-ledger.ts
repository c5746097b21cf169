// Exact load accounting: what is in flight now, and running totals the reports turn into deltas.
// Pure (no clock, no I/O). Every started request is finished exactly once; finishing twice is a no-op,
// so after any mix of successes, failures and disconnects the in-flight load is back to 0.

export type Outcome = "served" | "failed" | "cancelled";

export interface LedgerTotals {
  /** Workload admitted (PROTOCOL `new_load` is received − cancelled). */
  received: number;
  cancelled: number;
  /** Workload refused with 429 (`rej_load`). */
  rejected: number;
  /** Workload answered successfully (`cur_perf`). */
  served: number;
  failed: number;
  /** Requests admitted (`num_requests_recieved`). */
  requests: number;
}

export interface Ticket {
  readonly id: number;
  readonly requestIdx: number;
  readonly cost: number;
}

export class LoadLedger {
  private readonly open = new Map<number, Ticket>();
  private nextId = 1;
  private load = 0;
  private readonly finishedIdxs: number[] = [];
  readonly totals: LedgerTotals = { received: 0, cancelled: 0, rejected: 0, served: 0, failed: 0, requests: 0 };

  /** Called after every change (start, finish, reject): the reporter reports changes. */
  onChange: () => void = () => undefined;

  constructor(
    /** Finished request ids kept for /delete_requests/ while the router is unreachable. */
    private readonly maxFinished = 100_000,
  ) {}

  get inFlightLoad(): number {
    return this.load;
  }

  get inFlightRequests(): number {
    return this.open.size;
  }

  workingIdxs(): number[] {
    return [...this.open.values()].map((t) => t.requestIdx);
  }

  start(requestIdx: number, cost: number): Ticket {
    const t: Ticket = { id: this.nextId++, requestIdx, cost };
    this.open.set(t.id, t);
    this.load += cost;
    this.totals.received += cost;
    this.totals.requests++;
    this.onChange();
    return t;
  }

  /** Ends a request; a second call for the same ticket changes nothing and returns false. */
  finish(ticket: Ticket, outcome: Outcome): boolean {
    if (!this.open.delete(ticket.id)) return false;
    // Snap to exactly 0 when idle, so float rounding over many costs never leaves a phantom load.
    this.load = this.open.size === 0 ? 0 : this.load - ticket.cost;
    this.totals[outcome] += ticket.cost;
    this.pushFinished(ticket.requestIdx);
    this.onChange();
    return true;
  }

  /** A request refused by admission: counted, never in flight, and released at the router. */
  reject(requestIdx: number, cost: number): void {
    this.totals.rejected += cost;
    this.pushFinished(requestIdx);
    this.onChange();
  }

  /** Takes the finished request ids to report; `restore` puts them back when the report failed. */
  takeFinished(): number[] {
    return this.finishedIdxs.splice(0, this.finishedIdxs.length);
  }

  restoreFinished(idxs: number[]): void {
    this.finishedIdxs.unshift(...idxs);
    this.trimFinished();
  }

  private pushFinished(idx: number): void {
    this.finishedIdxs.push(idx);
    this.trimFinished();
  }

  private trimFinished(): void {
    // The router forgets unreported assignments by itself after a while: dropping the oldest is safe.
    if (this.finishedIdxs.length > this.maxFinished) this.finishedIdxs.splice(0, this.finishedIdxs.length - this.maxFinished);
  }
}
