import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectedWait, phaseOf, pickWorker, type LiveWorker } from "../routing.ts";

const NOW = 1_000_000;
const limits = { now: NOW, staleAfterMs: 30_000, maxQueueTime: 30 };

function worker(id: string, over: Partial<LiveWorker> = {}): LiveWorker {
  return { id, url: `http://${id}:1`, reported: "ready", cur_load: 0, pending_load: 0, max_perf: 100, last_report_at: NOW - 1000, ...over };
}

describe("phaseOf", () => {
  it.each([
    ["ready", {}, "ready"],
    ["error wins over everything", { reported: "error" as const, last_report_at: 0 }, "error"],
    ["stale after the window", { last_report_at: NOW - 30_001 }, "stale"],
    ["draining", { reported: "draining" as const }, "draining"],
    ["ready but not benchmarked", { max_perf: 0 }, "loading"],
    ["ready without a url", { url: null }, "loading"],
    ["loading", { reported: "loading" as const }, "loading"],
  ])("%s", (_name, over, phase) => {
    expect(phaseOf(worker("a", over), NOW, 30_000)).toBe(phase);
  });
});

describe("pickWorker", () => {
  it.each([
    ["no workers", [], 10, { kind: "none", status: "no workers: scaling up" }],
    ["only loading", [worker("a", { reported: "loading" })], 10, { kind: "none", status: "loading: 1 worker starting" }],
    ["lowest expected wait", [worker("a", { cur_load: 500 }), worker("b", { cur_load: 100 })], 10, { kind: "worker", worker: expect.objectContaining({ id: "b" }) }],
    ["pending load counts", [worker("a", { pending_load: 500 }), worker("b", { cur_load: 100 })], 10, { kind: "worker", worker: expect.objectContaining({ id: "b" }) }],
    ["faster worker wins at equal load", [worker("a", { cur_load: 100 }), worker("b", { cur_load: 100, max_perf: 400 })], 10, { kind: "worker", worker: expect.objectContaining({ id: "b" }) }],
    ["over max_queue_time is skipped", [worker("a", { cur_load: 3000 }), worker("b", { cur_load: 2000, max_perf: 50 })], 10, { kind: "none", status: "busy: 2 workers at max_queue_time" }],
    ["an idle worker takes a request bigger than its queue limit", [worker("a", { max_perf: 1 })], 1000, { kind: "worker", worker: expect.objectContaining({ id: "a" }) }],
    ["stale and errored are never chosen", [worker("a", { last_report_at: 0 }), worker("b", { reported: "error" })], 1, { kind: "none", status: "unavailable: 2 workers, none ready" }],
  ])("%s", (_name, workers, cost, expected) => {
    expect(pickWorker(workers, cost, limits)).toMatchObject(expected);
  });

  const arbWorker = fc.record({
    id: fc.string({ minLength: 1, maxLength: 4 }),
    url: fc.option(fc.constant("http://x:1"), { nil: null }),
    reported: fc.constantFrom("loading", "ready", "draining", "error"),
    cur_load: fc.double({ min: 0, max: 1e5, noNaN: true }),
    pending_load: fc.double({ min: 0, max: 1e5, noNaN: true }),
    max_perf: fc.double({ min: 0, max: 1e4, noNaN: true }),
    last_report_at: fc.integer({ min: NOW - 60_000, max: NOW }),
  }) as fc.Arbitrary<LiveWorker>;

  it("only ever picks a ready worker, and the one with the lowest wait among the eligible", () => {
    fc.assert(
      fc.property(fc.array(arbWorker, { maxLength: 12 }), fc.double({ min: 0, max: 1e4, noNaN: true }), (workers, cost) => {
        const pick = pickWorker(workers, cost, limits);
        const eligible = workers.filter((w) => {
          if (phaseOf(w, NOW, limits.staleAfterMs) !== "ready") return false;
          return expectedWait(w, cost) <= limits.maxQueueTime || w.cur_load + w.pending_load === 0;
        });
        if (pick.kind === "none") return eligible.length === 0;
        return eligible.includes(pick.worker) && eligible.every((w) => expectedWait(w, cost) >= pick.wait);
      }),
    );
  });

  it("greedy routing of a burst splits it in proportion to max_perf", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 6 }), (perfs) => {
        const workers = perfs.map((p, i) => worker(`w${i}`, { max_perf: p }));
        const total = perfs.reduce((a, b) => a + b, 0);
        const n = total * 20;
        for (let i = 0; i < n; i++) {
          const pick = pickWorker(workers, 1, { ...limits, maxQueueTime: Infinity });
          if (pick.kind !== "worker") return false;
          pick.worker.pending_load += 1;
        }
        return workers.every((w, i) => Math.abs(w.pending_load - n * (perfs[i]! / total)) <= 1 + 1e-9);
      }),
    );
  });
});
