import { describe, expect, it } from "vitest";
import type { Instance } from "../admin-api.ts";
import { countByState, fleetRows } from "../fleet-view.ts";
import type { WorkerSnapshot } from "../snapshot.ts";

const worker = (id: string, over: Partial<WorkerSnapshot> = {}): WorkerSnapshot => ({
  id,
  url: "http://10.0.0.1:8000",
  phase: "ready",
  cur_load: 10,
  pending_load: 5,
  max_perf: 100,
  last_report_age_s: 2,
  loadtime: 3,
  error_msg: "",
  gpu_name: "RTX 4090",
  version: "1",
  ...over,
});

const instance = (id: string, over: Partial<Instance> = {}): Instance => ({
  id,
  vast_instance_id: 7,
  group: "g",
  status: "running",
  gpu_name: "RTX 4090",
  dph_total: 0.4,
  billed: true,
  perf: 90,
  created_at: 1,
  state_since: 1,
  ready_at: 2,
  ...over,
});

describe("fleet rows", () => {
  it("joins live workers with rented instances by worker id", () => {
    const [row] = fleetRows([worker("a")], [instance("a")]);
    expect(row).toMatchObject({ id: "a", state: "ready", load: 15, capacity: 100, dph: 0.4, last_report_s: 2, vast_instance_id: 7, group: "g" });
  });

  it("shows instances that do not report: creating, booting, and stopped ones with their last capacity and no cost", () => {
    const rows = fleetRows([], [instance("c", { status: "creating", vast_instance_id: null }), instance("b"), instance("s", { status: "stopped", billed: false })]);
    expect(rows.map((r) => [r.id, r.state, r.capacity, r.dph, r.last_report_s])).toEqual([
      ["c", "creating", 90, 0.4, null],
      ["b", "booting", 90, 0.4, null],
      ["s", "stopped", 90, 0, null],
    ]);
  });

  it("lets the scaler's stop win over a stale report, and leaves manual boxes without a price", () => {
    const rows = fleetRows([worker("s", { phase: "stale" }), worker("m")], [instance("s", { status: "stopped", billed: false })]);
    expect(rows.map((r) => [r.id, r.state, r.load, r.dph])).toEqual([
      ["m", "ready", 15, null],
      ["s", "stopped", 0, 0],
    ]);
    expect(countByState(rows)).toMatchObject({ ready: 1, stopped: 1, loading: 0, creating: 0 });
  });
});
