// The discrete-event core: a clock and a binary heap of callbacks ordered by (time, insertion order).
// Ties run in the order they were scheduled, so a run is deterministic. Nothing is ever cancelled:
// callbacks that may be superseded check a generation number of their own instead.

interface Scheduled {
  t: number;
  seq: number;
  fn: () => void;
}

export class EventLoop {
  now: number;
  private readonly heap: Scheduled[] = [];
  private seq = 0;
  /** Events run so far (for the benchmark's speed line). */
  processed = 0;

  constructor(start: number) {
    this.now = start;
  }

  /** Runs `fn` at absolute time `t` (ms); a time in the past means "now, after what is already due". */
  at(t: number, fn: () => void): void {
    const item: Scheduled = { t: Math.max(t, this.now), seq: this.seq++, fn };
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (p.t < item.t || (p.t === item.t && p.seq < item.seq)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = item;
  }

  after(ms: number, fn: () => void): void {
    this.at(this.now + ms, fn);
  }

  /** Calls `fn` at `first`, then every `period` ms while it returns true. */
  every(first: number, period: number, fn: (t: number) => boolean): void {
    const tick = (t: number) => {
      if (fn(t)) this.at(t + period, () => tick(t + period));
    };
    this.at(first, () => tick(first));
  }

  get pending(): number {
    return this.heap.length;
  }

  /** Runs every event due at or before `until`, then leaves the clock at `until`. */
  run(until: number): void {
    const h = this.heap;
    while (h.length > 0 && h[0]!.t <= until) {
      const top = h[0]!;
      const last = h.pop()!;
      if (h.length > 0) {
        // Sift `last` down from the root.
        let i = 0;
        const n = h.length;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= n) break;
          const r = l + 1;
          let c = l;
          const hl = h[l]!;
          if (r < n) {
            const hr = h[r]!;
            if (hr.t < hl.t || (hr.t === hl.t && hr.seq < hl.seq)) c = r;
          }
          const hc = h[c]!;
          if (last.t < hc.t || (last.t === hc.t && last.seq < hc.seq)) break;
          h[i] = hc;
          i = c;
        }
        h[i] = last;
      }
      this.now = top.t;
      this.processed++;
      top.fn();
    }
    this.now = Math.max(this.now, until);
  }
}
