import { describe, expect, it } from "vitest";
import { RequestLedger } from "../request-ledger.ts";

/** A ledger whose ids count from 1 and which records every request that left a worker. */
function ledger() {
  const left: [number, string][] = [];
  let seq = 0;
  const l = new RequestLedger((idx, worker) => left.push([idx, worker]));
  return { l, left, next: () => ++seq };
}

describe("request ledger", () => {
  it("opens new requests under fresh ids, and a re-poll of a known one under its own, counted once", () => {
    const { l, left, next } = ledger();
    const a = l.open(undefined, 5, 1_000, 60_000, next);
    const b = l.open(0, 7, 1_000, 60_000, next);
    expect([a.idx, a.fresh, b.idx, b.fresh]).toEqual([1, true, 2, true]);
    l.assign(a.idx, "w1");
    // The re-poll keeps its first cost, and its load leaves the worker it was routed to.
    const again = l.open(a.idx, 99, 2_000, 60_000, next);
    expect([again.idx, again.fresh, again.entry.cost, again.entry.worker_id, again.entry.touched]).toEqual([1, false, 5, null, 2_000]);
    expect(left).toEqual([[1, "w1"]]);
    // An id the ledger does not know (expired, or never issued) is a new request.
    expect(l.open(42, 3, 2_000, 60_000, next)).toMatchObject({ idx: 3, fresh: true });
    expect(l.size).toBe(3);
  });

  it("finishes a request only for the worker it was routed to", () => {
    const { l, left, next } = ledger();
    const { idx } = l.open(undefined, 1, 0, 60_000, next);
    l.assign(idx, "w1");
    expect(l.finish(idx, "w2")).toBe(false);
    expect(l.has(idx)).toBe(true);
    expect(l.finish(idx, "w1")).toBe(true);
    expect([l.has(idx), left]).toEqual([false, [[idx, "w1"]]]);
    expect(l.finish(idx, "w1")).toBe(false);
  });

  it.each([
    // [replay ms, re-poll at (null: none), swept at, still known]
    [10_000, null, 9_999, true],
    [10_000, null, 10_000, false],
    [10_000, null, 11_000, false],
    [10_000, 5_000, 11_000, true], // the re-poll extended its life to 15 s
    [10_000, 5_000, 15_000, false],
    [10_000, 1_000, 12_000, false], // extended to 11 s only
  ])("replay %i ms, re-polled at %s: at %i ms known = %s", (replayMs, repollAt, at, known) => {
    const { l, left, next } = ledger();
    const { idx } = l.open(undefined, 1, 0, replayMs, next);
    l.assign(idx, "w1");
    if (repollAt !== null) {
      l.open(idx, 1, repollAt, replayMs, next);
      l.assign(idx, "w1");
    }
    l.sweep(at);
    expect(l.has(idx)).toBe(known);
    // Expiry takes the request's load off its worker, like a finish.
    expect(left.length).toBe((repollAt === null ? 0 : 1) + (known ? 0 : 1));
  });

  it("counts what waits at the edge: no worker, polled within the window, in arrival order", () => {
    const { l, next } = ledger();
    const a = l.open(undefined, 2, 0, 60_000, next);
    const b = l.open(undefined, 3, 1_000, 60_000, next);
    const c = l.open(undefined, 4, 2_000, 60_000, next);
    l.assign(b.idx, "w1");
    expect(l.waiting(5_000, 10_000)).toEqual({ requests: 2, workload: 6 });
    expect(l.waiting(10_500, 10_000)).toEqual({ requests: 1, workload: 4 }); // a not polled for 10.5 s
    expect([a, b, c].map((r) => l.queuePosition(r.idx, r.entry))).toEqual([0, 1, 1]);
  });

  it("forgets routed requests when the workers are gone, keeps the waiting ones", () => {
    const { l, next } = ledger();
    const a = l.open(undefined, 1, 0, 60_000, next);
    const b = l.open(undefined, 1, 0, 60_000, next);
    l.assign(a.idx, "w1");
    l.dropAssigned();
    expect([l.has(a.idx), l.has(b.idx)]).toEqual([false, true]);
  });
});
