// The agent's pure decisions: admission, the replay guard, the load ledger. Tables for the cases
// that matter, fast-check for the invariants.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { admit } from "../src/admission.ts";
import { LoadLedger, type Outcome } from "../src/load-ledger.ts";
import { ReplayGuard } from "../src/replay-guard.ts";

describe("admission", () => {
  it.each([
    // loadAhead, cost, maxPerf, maxQueueTime, expected
    [0, 10, 100, 1, { admit: true }],
    [0, 1e9, 100, 1, { admit: true }], // idle: always, or a big request could never run
    [50, 50, 100, 1, { admit: true }], // exactly max_queue_time
    [51, 50, 100, 1, { admit: false, retryAfterS: 1 }],
    [400, 100, 100, 1, { admit: false, retryAfterS: 4 }],
    [10, 10, 0, 30, { admit: false, retryAfterS: 1 }], // not benchmarked: no capacity to promise
  ] as const)("load %d + cost %d at %d/s with max %d s → %o", (load, cost, perf, maxQ, expected) => {
    expect(admit(load, cost, perf, maxQ)).toEqual(expected);
  });

  it("is monotone: whatever is refused stays refused with more load ahead, and Retry-After ≥ 1", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 1e-3, max: 1e5, noNaN: true }),
        fc.double({ min: 0, max: 3600, noNaN: true }),
        (load, extra, cost, perf, maxQ) => {
          const a = admit(load, cost, perf, maxQ);
          const b = admit(load + extra, cost, perf, maxQ);
          if (!a.admit && load > 0) expect(b.admit).toBe(false);
          if (!b.admit) expect(b.retryAfterS).toBeGreaterThanOrEqual(1);
          if (load === 0) expect(a.admit).toBe(true);
        },
      ),
    );
  });
});

describe("replay guard", () => {
  it.each([
    ["a new reqnum", [[1, 100, 160, 100]], "fresh"],
    ["the same reqnum again", [[1, 100, 160, 100], [1, 100, 160, 120]], "replayed"],
    ["the same reqnum after its token expired", [[1, 100, 160, 100], [1, 100, 160, 161]], "fresh"],
    ["a token issued before the agent started", [[1, 49, 160, 100]], "before_start"],
  ] as const)("%s → %s", (_name, calls, expected) => {
    const g = new ReplayGuard(10, 50);
    let last = "";
    for (const [reqnum, iat, exp, now] of calls) last = g.admit(reqnum, iat, exp, now);
    expect(last).toBe(expected);
  });

  it("never admits a reqnum twice while its token lives, and never holds more than its capacity", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.record({ reqnum: fc.integer({ min: 0, max: 60 }), life: fc.integer({ min: 1, max: 30 }), step: fc.integer({ min: 0, max: 5 }) }), { maxLength: 200 }),
        (capacity, events) => {
          const g = new ReplayGuard(capacity, 0);
          const accepted = new Map<number, number>(); // reqnum → expiry of the accepted token
          let now = 0;
          for (const e of events) {
            now += e.step;
            const verdict = g.admit(e.reqnum, now, now + e.life, now);
            const prior = accepted.get(e.reqnum);
            if (prior !== undefined && prior >= now) expect(verdict).not.toBe("fresh");
            if (verdict === "fresh") accepted.set(e.reqnum, now + e.life);
            expect(g.size).toBeLessThanOrEqual(capacity);
          }
        },
      ),
    );
  });

  it("when full, refuses old reqnums (fail closed) but keeps admitting new ones", () => {
    const g = new ReplayGuard(3, 0);
    for (const r of [10, 11, 12, 13]) expect(g.admit(r, 0, 100, 0)).toBe("fresh");
    expect(g.admit(10, 0, 100, 1)).toBe("below_watermark"); // evicted, still refused
    expect(g.admit(9, 0, 100, 1)).toBe("below_watermark");
    expect(g.admit(14, 0, 100, 1)).toBe("fresh");
  });
});

describe("load ledger", () => {
  const outcome = fc.constantFrom<Outcome>("served", "failed", "cancelled");

  it("returns to exactly 0 in flight after any mix of outcomes, double finishes included", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ cost: fc.double({ min: 0, max: 1e4, noNaN: true }), outcome, twice: fc.boolean(), order: fc.nat() }), { maxLength: 100 }),
        fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { maxLength: 10 }),
        (calls, rejected) => {
          const l = new LoadLedger();
          const tickets = calls.map((c, i) => ({ c, t: l.start(i, c.cost) }));
          for (const [i, cost] of rejected.entries()) l.reject(1000 + i, cost);
          tickets.sort((a, b) => a.c.order - b.c.order);
          for (const { c, t } of tickets) {
            expect(l.finish(t, c.outcome)).toBe(true);
            if (c.twice) expect(l.finish(t, "served")).toBe(false);
          }
          expect(l.inFlightLoad).toBe(0);
          expect(l.inFlightRequests).toBe(0);
          expect(l.workingIdxs()).toEqual([]);
          const sum = (o: Outcome) => calls.filter((c) => c.outcome === o).reduce((s, c) => s + c.cost, 0);
          expect(l.totals.served).toBeCloseTo(sum("served"), 6);
          expect(l.totals.failed).toBeCloseTo(sum("failed"), 6);
          expect(l.totals.cancelled).toBeCloseTo(sum("cancelled"), 6);
          expect(l.totals.received).toBeCloseTo(calls.reduce((s, c) => s + c.cost, 0), 6);
          expect(l.takeFinished().length).toBe(calls.length + rejected.length);
        },
      ),
    );
  });

  it("lists in-flight request_idxs and keeps finished ones for the router until taken", () => {
    const l = new LoadLedger(3);
    const a = l.start(7, 1);
    l.start(8, 2);
    expect(l.workingIdxs()).toEqual([7, 8]);
    expect(l.inFlightLoad).toBe(3);
    l.finish(a, "served");
    l.reject(9, 5);
    const taken = l.takeFinished();
    expect(taken).toEqual([7, 9]);
    l.restoreFinished(taken); // the report failed
    for (const i of [10, 11]) l.reject(i, 1);
    expect(l.takeFinished()).toEqual([9, 10, 11]); // bounded: the oldest went first
  });
});
