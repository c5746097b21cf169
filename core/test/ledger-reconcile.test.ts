import { describe, expect, it } from "vitest";
import { instanceView, reconcile, type LedgerEntry } from "../ledger-reconcile.ts";
import type { WorkerSnapshot } from "../snapshot.ts";
import { instanceLabel, parseInstanceList, workerIdFromLabel, type VastInstance } from "../vast-api.ts";

const NOW = 1_700_000_000_000;
const PREFIX = "egs:";
const timings = { createGraceMs: 180_000, goneGraceMs: 120_000 };

function entry(id: string, over: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    id,
    endpointId: 1,
    groupId: 1,
    status: "running",
    vastId: null,
    createdAt: NOW - 600_000,
    stateSince: NOW - 600_000,
    gpuName: "RTX 4090",
    dph: 0.4,
    perf: null,
    readyAt: null,
    startFailures: 0,
    lastStartFailureAt: null,
    ...over,
  };
}

function vast(id: number, label: string | null, over: Partial<VastInstance> = {}): VastInstance {
  return { id, label, actual_status: "running", intended_status: "running", gpu_name: "RTX 4090", dph_total: 0.4, ...over };
}

describe("reconcile", () => {
  it("adopts an instance whose create answer was lost (row still creating, label present)", () => {
    const r = reconcile([entry("w_a", { status: "creating", vastId: null })], [vast(7, "egs:w_a")], PREFIX, NOW, timings);
    expect(r.adopt).toEqual([{ id: "w_a", vastId: 7 }]);
    expect(r.orphans).toEqual([]);
    expect(r.matched.get("w_a")?.id).toBe(7);
  });

  it("keeps a fresh creating row without instance, closes it after the grace", () => {
    const young = entry("w_a", { status: "creating", createdAt: NOW - 10_000 });
    const old = entry("w_b", { status: "creating", createdAt: NOW - 200_000 });
    const r = reconcile([young, old], [], PREFIX, NOW, timings);
    expect(r.close).toEqual([{ id: "w_b", reason: "create never took effect" }]);
  });

  it("closes a row whose instance disappeared, but not one just written", () => {
    const r = reconcile(
      [entry("w_a", { vastId: 1 }), entry("w_b", { vastId: 2, stateSince: NOW - 5_000 })],
      [],
      PREFIX,
      NOW,
      timings,
    );
    expect(r.close).toEqual([{ id: "w_a", reason: "instance gone from Vast" }]);
  });

  it("closes a destroying row once Vast no longer lists it, re-sends the destroy while it does", () => {
    const r = reconcile(
      [entry("w_a", { vastId: 1, status: "destroying" }), entry("w_b", { vastId: 2, status: "destroying" })],
      [vast(2, "egs:w_b")],
      PREFIX,
      NOW,
      timings,
    );
    expect(r.close).toEqual([{ id: "w_a", reason: "destroyed" }]);
    expect(r.resend).toEqual([{ id: "w_b", vastId: 2, kind: "destroy" }]);
  });

  it("re-sends stops and starts Vast has not applied", () => {
    const r = reconcile(
      [entry("w_a", { vastId: 1, status: "stopped" }), entry("w_b", { vastId: 2, status: "running" }), entry("w_c", { vastId: 3, status: "stopped" })],
      [vast(1, "egs:w_a"), vast(2, "egs:w_b", { intended_status: "stopped", actual_status: "stopped" }), vast(3, "egs:w_c", { intended_status: "stopped", actual_status: "running" })],
      PREFIX,
      NOW,
      timings,
    );
    expect(r.resend).toEqual([
      { id: "w_a", vastId: 1, kind: "stop" },
      { id: "w_b", vastId: 2, kind: "start" },
    ]);
  });

  it("destroys instances with our label and no open row, and duplicates; never touches others", () => {
    const r = reconcile(
      [entry("w_a", { vastId: 1 })],
      [vast(1, "egs:w_a"), vast(2, "egs:w_a"), vast(3, "egs:w_gone"), vast(4, "someone else's"), vast(5, null)],
      PREFIX,
      NOW,
      timings,
    );
    expect(r.orphans.map((o) => o.vastId)).toEqual([2, 3]);
    expect(reconcile([entry("w_a", { vastId: 1 })], [vast(3, "egs:w_gone")], PREFIX, NOW, timings, { orphans: false }).orphans).toEqual([]);
  });
});

function worker(over: Partial<WorkerSnapshot> = {}): WorkerSnapshot {
  return {
    id: "w_a",
    url: "http://127.0.0.1:1",
    phase: "ready",
    cur_load: 5,
    pending_load: 1,
    max_perf: 120,
    last_report_age_s: 2,
    loadtime: 30,
    error_msg: "",
    gpu_name: "RTX 4090",
    version: "1",
    ...over,
  };
}

describe("instanceView", () => {
  const opts = { silentErrorS: 120 };
  it.each<[string, Partial<LedgerEntry>, VastInstance | null, WorkerSnapshot | undefined, string]>([
    ["intent written, Vast silent", { status: "creating" }, null, undefined, "creating"],
    ["adopted, still loading", { status: "creating" }, vast(1, "egs:w_a", { actual_status: "loading" }), undefined, "loading"],
    ["running, agent ready", { vastId: 1 }, vast(1, "egs:w_a"), worker(), "ready"],
    ["running, agent benchmarking", { vastId: 1 }, vast(1, "egs:w_a"), worker({ phase: "loading", max_perf: 0 }), "loading"],
    ["agent reports an error", { vastId: 1 }, vast(1, "egs:w_a"), worker({ phase: "error", error_msg: "CUDA OOM" }), "error"],
    ["container exited", { vastId: 1 }, vast(1, "egs:w_a", { actual_status: "exited" }), undefined, "error"],
    ["agent silent too long", { vastId: 1 }, vast(1, "egs:w_a"), worker({ phase: "stale", last_report_age_s: 300 }), "error"],
    ["agent briefly silent: still ready", { vastId: 1 }, vast(1, "egs:w_a"), worker({ phase: "stale", last_report_age_s: 45 }), "ready"],
    ["restarted: a report from before the stop does not count", { vastId: 1, readyAt: NOW - 900_000, stateSince: NOW - 10_000 }, vast(1, "egs:w_a"), worker({ last_report_age_s: 60 }), "starting"],
    ["asked to stop, Vast still running it", { vastId: 1, status: "stopped" }, vast(1, "egs:w_a", { intended_status: "stopped" }), undefined, "stopping"],
    ["stopped", { vastId: 1, status: "stopped" }, vast(1, "egs:w_a", { actual_status: "stopped", intended_status: "stopped" }), undefined, "stopped"],
    ["being destroyed", { vastId: 1, status: "destroying" }, vast(1, "egs:w_a"), worker(), "destroying"],
    // Created 10 min ago, so a "starting" reading would be stuck past the 180-s start deadline.
    ["drained by the scaler: ready and draining, not stuck starting", { vastId: 1, readyAt: NOW - 500_000 }, vast(1, "egs:w_a"), worker({ phase: "draining", drained: true }), "ready"],
    ["drained by the scaler and briefly silent: still ready", { vastId: 1 }, vast(1, "egs:w_a"), worker({ phase: "stale", drained: true, last_report_age_s: 45 }), "ready"],
    ["the agent drains on its own (SIGTERM from elsewhere): on its way to stopped", { vastId: 1, readyAt: NOW - 500_000 }, vast(1, "egs:w_a"), worker({ phase: "draining" }), "stopping"],
  ])("%s → %s", (_name, over, inst, w, state) => {
    expect(instanceView(entry("w_a", over), inst, w, NOW, opts).state).toBe(state);
  });

  it("carries the router's drain flag: on a drained worker, and on a stopped one until a start clears it", () => {
    const drained = instanceView(entry("w_a", { vastId: 1 }), vast(1, "egs:w_a"), worker({ phase: "draining", drained: true, cur_load: 4, pending_load: 0 }), NOW, opts);
    expect(drained).toMatchObject({ state: "ready", drained: true, load: 4, perf: 120 });
    const stopped = instanceView(entry("w_a", { vastId: 1, status: "stopped" }), vast(1, "egs:w_a", { actual_status: "stopped", intended_status: "stopped" }), worker({ phase: "stale", drained: true, last_report_age_s: 900 }), NOW, opts);
    expect(stopped).toMatchObject({ state: "stopped", drained: true });
    const own = instanceView(entry("w_a", { vastId: 1 }), vast(1, "egs:w_a"), worker({ phase: "draining" }), NOW, opts);
    expect(own.drained).toBeUndefined();
  });

  it("takes perf and load from the agent when ready, price and GPU from Vast", () => {
    const v = instanceView(entry("w_a", { vastId: 1, dph: 9 }), vast(1, "egs:w_a", { dph_total: 0.5, gpu_name: "RTX 3090" }), worker(), NOW, opts);
    expect(v).toMatchObject({ perf: 120, load: 6, dph: 0.5, gpuName: "RTX 3090", vastId: 1 });
  });
});

describe("labels and lists", () => {
  it("round-trips a worker id through a label and refuses others", () => {
    expect(workerIdFromLabel(PREFIX, instanceLabel(PREFIX, "w_Ab-9_x"))).toBe("w_Ab-9_x");
    expect(workerIdFromLabel(PREFIX, "other:w_a")).toBeNull();
    expect(workerIdFromLabel(PREFIX, "egs:bad id")).toBeNull();
    expect(workerIdFromLabel(PREFIX, null)).toBeNull();
  });

  it("skips other people's odd instances but fails the list on one of ours, and drops extra_env", () => {
    const ok = parseInstanceList({ instances: [{ id: 1, label: "egs:w_a", extra_env: [["MASTER_TOKEN", "mt_secret"]] }, { id: "weird", label: "theirs" }] }, PREFIX);
    expect(ok).toHaveLength(1);
    expect(JSON.stringify(ok)).not.toContain("mt_secret");
    expect(() => parseInstanceList({ instances: [{ id: "weird", label: "egs:w_b" }] }, PREFIX)).toThrow(/did not parse/);
    expect(() => parseInstanceList({ nope: [] }, PREFIX)).toThrow();
  });
});
