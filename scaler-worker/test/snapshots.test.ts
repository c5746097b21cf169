// The router's snapshot at the scaler's boundary: parsed by zod, the drain flag defaulted, the
// buckets the forecast reads (its longest window: the burst floor's hour) kept.
import { describe, expect, it } from "vitest";
import { LOAD_BUCKET_MS } from "../../core/snapshot.ts";
import { parseSnapshot } from "../src/snapshots.ts";

const worker = (over: Record<string, unknown> = {}) => ({
  id: "w_a",
  url: "http://10.0.0.1:3000",
  phase: "ready",
  cur_load: 1,
  pending_load: 0,
  max_perf: 100,
  last_report_age_s: 1,
  loadtime: 30,
  error_msg: "",
  gpu_name: "RTX 4090",
  version: "1",
  ...over,
});
const buckets = (n: number) => Array.from({ length: n }, (_, i) => ({ start: i * LOAD_BUCKET_MS, arrived: i, requests: 1, served: 0, rejected: 0, held_peak: 0 }));
const snapshot = (over: Record<string, unknown> = {}) => ({ endpoint: "ep", now: 0, workers: [worker()], buckets: buckets(360), waiting: { requests: 0, workload: 0 }, last_request_at: null, ...over });

describe("parseSnapshot", () => {
  it("reads the scaler's drain flag, false when a router does not send it", () => {
    const s = parseSnapshot(snapshot({ workers: [worker(), worker({ id: "w_b", phase: "draining", drained: true })] }), 3600);
    expect(s.workers.map((w) => w.drained)).toEqual([false, true]);
  });

  it("keeps the buckets of the longest window it is asked for, the newest", () => {
    expect(parseSnapshot(snapshot(), 600).buckets).toHaveLength(61);
    const hour = parseSnapshot(snapshot(), 3600).buckets;
    expect(hour).toHaveLength(360);
    expect(hour.at(-1)!.arrived).toBe(359);
  });

  it("refuses a snapshot whose drain flag is not a boolean", () => {
    expect(() => parseSnapshot(snapshot({ workers: [worker({ drained: "yes" })] }), 600)).toThrow();
  });
});
