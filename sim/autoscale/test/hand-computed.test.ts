import { describe, expect, it } from "vitest";
import { summarize } from "../metrics.ts";
import { simulate, EPOCH } from "../simulation.ts";
import { fixedFleet, scripted, TOY, toyMarket, trace } from "./fixtures.ts";

const base = { gpus: [TOY], market: toyMarket(), seed: "hand" };
const waitS = (r: { admittedAt: number; at: number }) => (r.admittedAt - r.at) / 1000;
const ttftS = (r: { firstTokenAt: number; at: number }) => (r.firstTokenAt - r.at) / 1000;

describe("the simulator against hand-computed results", () => {
  it("queues a second request behind the first on a one-slot worker", () => {
    // Worker ready 20 s after the warm-up starts (60 s before the window). r1: prefill 1 s, decode
    // 1 s → slot 0–2 s. r2 at 0.5 s waits for the slot until 2 s, prefills 0.5 s, decodes 0.5 s.
    const r = simulate({ ...base, trace: trace([[0, 1000, 10], [0.5, 500, 5]], 10), policy: fixedFleet(1), warmupMs: 60_000 });
    const [a, b] = r.requests;
    expect([waitS(a!), ttftS(a!), (a!.doneAt - EPOCH) / 1000]).toEqual([0, 1, 2]);
    expect([waitS(b!), ttftS(b!), (b!.doneAt - EPOCH) / 1000]).toEqual([1.5, 2, 3]);
    const m = summarize(r);
    // Billed the whole 10-s window at $3.60/h, disk at $0.36/h.
    expect(m.gpu_hours).toBeCloseTo(10 / 3600, 12);
    expect(m.cost_usd).toBeCloseTo(0.01 + 0.001, 12);
    expect(m.slo_attainment).toBe(1);
    expect(m.p99_wait_s).toBe(1.5);
    expect(m.p50_wait_s).toBe(0);
    // Busy 0–3 s of the 10 s: 7 idle GPU-seconds.
    expect(m.idle_gpu_hours * 3600).toBeCloseTo(7, 9);
  });

  it("runs prefills one at a time and decodes in the batch", () => {
    const two = { ...TOY, max_batch: 2 };
    const r = simulate({ ...base, gpus: [two], trace: trace([[0, 1000, 10], [0, 1000, 10]], 10), policy: fixedFleet(1), warmupMs: 60_000 });
    const [a, b] = r.requests;
    expect([waitS(a!), ttftS(a!), (a!.doneAt - EPOCH) / 1000]).toEqual([0, 1, 2]);
    expect([waitS(b!), ttftS(b!), (b!.doneAt - EPOCH) / 1000]).toEqual([0, 2, 3]);
  });

  it("holds a request at the edge through a cold start and hands it the worker the moment it is ready", () => {
    // No warm-up: rented at 0, ready at 20 s (10 s creating + 10 s loading). Route calls at 0 (held
    // to 4), 5 (held to 9), 11+u (held to 15+u), then 19+u+u' with u, u' in [0, 1): the request is
    // either held when the worker reports ready at 20 s or routes after it, before 21 s.
    const r = simulate({ ...base, trace: trace([[0, 1000, 10]], 60), policy: fixedFleet(1), warmupMs: 0 });
    const req = r.requests[0]!;
    expect(waitS(req)).toBeGreaterThanOrEqual(20);
    expect(waitS(req)).toBeLessThan(21);
    expect(req.metColdStart).toBe(true);
    const m = summarize(r);
    expect(m.slo_attainment).toBe(0);
    expect(m.cold_starts).toBe(1);
    expect(m.gpu_hours * 3600).toBeCloseTo(50, 9); // loading 10–20 s, ready 20–60 s
  });

  it("makes polling clients wait out the SDK's backoff after the worker is ready", () => {
    // Polls at 0, 1, 3+u₁, 7+u₁+u₂, 15+Σu (< 18, still loading), then a 15-s cap: 30 + Σu, in [30, 33).
    const r = simulate({ ...base, trace: trace([[0, 1000, 10]], 60), policy: fixedFleet(1, TOY.name, "poll"), warmupMs: 0 });
    const w = waitS(r.requests[0]!);
    expect(w).toBeGreaterThanOrEqual(30);
    expect(w).toBeLessThan(33);
  });

  it("bills the GPU while loading or ready and the disk from create to destroy", () => {
    // Rent at 0 (ready 20), stop at 60, restart at 120 (5 s, billed), destroy at 180; window 200 s.
    const policy = scripted([
      [0, { kind: "create", gpu_name: "toy" }],
      [60, { kind: "stop", id: "i1" }],
      [120, { kind: "start", id: "i1" }],
      [180, { kind: "destroy", id: "i1" }],
    ]);
    const m = summarize(simulate({ ...base, trace: trace([], 200), policy, warmupMs: 0 }));
    expect(m.gpu_hours * 3600).toBeCloseTo(10 + 40 + 5 + 55, 9);
    expect(m.storage_cost_usd).toBeCloseTo((180 / 3600) * 0.36, 12);
    expect([m.creates, m.restarts, m.failed_restarts]).toEqual([1, 1, 0]);
  });

  it("falls back to a fresh create when the stopped host's GPU was re-rented", () => {
    const policy = scripted([
      [0, { kind: "create", gpu_name: "toy" }],
      [60, { kind: "stop", id: "i1" }],
      [120, { kind: "start", id: "i1" }],
    ]);
    const r = simulate({ ...base, market: toyMarket(1), trace: trace([], 200), policy, warmupMs: 0 });
    const m = summarize(r);
    // i1: loading 10–20, ready 20–60, then destroyed at 120; i2: created 120, loading 130–140, ready 140–200.
    expect(m.gpu_hours * 3600).toBeCloseTo(10 + 40 + 10 + 60, 9);
    expect([m.creates, m.restarts, m.failed_restarts]).toEqual([2, 0, 1]);
  });

  it("keeps a request at the edge while the only worker is past max_queue_time", () => {
    // max_queue_time 1 s, max_perf 505 units/s (one slot, 2 s per request): r2 would wait 4 s, so
    // pickWorker skips the busy worker and r2 is held until the 2-s report shows it idle again.
    const r = simulate({ ...base, trace: trace([[0, 1000, 10], [0.1, 1000, 10]], 10), policy: fixedFleet(1), warmupMs: 60_000, params: { max_queue_time: 1 } });
    const b = r.requests[1]!;
    expect(b.metColdStart).toBe(true);
    expect(b.admittedAt - EPOCH).toBe(2000);
  });
});
