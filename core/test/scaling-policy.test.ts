import { describe, expect, it } from "vitest";
import { planEndpoint, type EndpointPlanInput } from "../scaling-policy.ts";
import { NOW, group, inst, input, kinds, load, offer, params } from "./fleet-fixtures.ts";

function plan(over: Partial<EndpointPlanInput>) {
  return planEndpoint(input(over));
}

describe("planEndpoint: scenarios", () => {
  it.each<[string, Partial<EndpointPlanInput>, string]>([
    ["quiet endpoint with nothing rented: nothing to do", {}, ""],
    ["150 u/s with 100 u/s GPUs: target 166.7, two creates", { load: load(150) }, "create,create"],
    ["load but nothing measured yet: one probe create", { load: load(150), groups: [group()] }, "create"],
    ["two cold instances cover the load: restarted, nothing created", { load: load(150), instances: [inst("stopped"), inst("stopped")] }, "start,start"],
    ["300 u/s, one cold: restart it, then rent three", { load: load(300), instances: [inst("stopped")] }, "create,create,create,start"],
    [
      "cold instance in restart backoff: rent instead",
      { load: load(50), instances: [inst("stopped", { startFailures: 1, lastStartFailureAt: NOW - 10_000 })] },
      "create",
    ],
    [
      "cold instance past its backoff: restarted again",
      { load: load(50), instances: [inst("stopped", { startFailures: 1, lastStartFailureAt: NOW - 3_600_000 })] },
      "start",
    ],
    [
      "at max_workers, a cold instance that could not restart makes room for a rental",
      { load: load(50), params: params({ max_workers: 1 }), instances: [inst("stopped", { startFailures: 1, lastStartFailureAt: NOW - 10_000 })] },
      "create,destroy",
    ],
    ["cold instance that failed to restart twice: destroyed and replaced", { load: load(50), instances: [inst("stopped", { startFailures: 2 })] }, "create,destroy"],
    ["max_workers caps creation", { load: load(1000), params: params({ max_workers: 3 }) }, "create,create,create"],
    ["max_hourly_cost caps creation ($0.40 each, $1.00 cap)", { load: load(1000), params: params({ max_hourly_cost: 1 }) }, "create,create"],
    ["cost cap below what runs: the worst is released", { load: load(250), params: params({ max_hourly_cost: 0.8 }), instances: [inst("ready"), inst("ready"), inst("ready")] }, "stop"],
    ["over max_workers: idle ones go first", { load: load(250), params: params({ max_workers: 3 }), instances: [inst("ready", { load: 50 }), inst("ready", { load: 50 }), inst("ready"), inst("ready"), inst("ready")] }, "destroy,destroy"],
    ["errored instance under load: destroyed and replaced", { load: load(50), instances: [inst("error", { detail: "boom" })] }, "create,destroy"],
    ["loading past the learned deadline: destroyed and replaced", { load: load(50), groups: [group({ perf: { "RTX 4090": 100 }, loadTimesS: [60, 60, 60] })], instances: [inst("loading", { since: NOW - 400_000 })] }, "create,destroy"],
    ["loading for 400 s with no history: within the ceiling, left alone", { load: load(50), instances: [inst("loading", { since: NOW - 400_000 })] }, ""],
    ["restart stuck past the start deadline: destroyed and replaced", { load: load(50), instances: [inst("starting", { since: NOW - 200_000 })] }, "create,destroy"],
    ["deleted endpoint: everything destroyed", { deleted: true, load: load(500), instances: [inst("ready"), inst("stopped"), inst("loading")] }, "destroy,destroy,destroy"],
    ["stopped endpoint: ready stopped, loading destroyed", { load: load(500), params: params({ endpoint_state: "stopped" }), instances: [inst("ready"), inst("loading")] }, "destroy,stop"],
    ["suspended endpoint: no scaling either way", { load: load(500), params: params({ endpoint_state: "suspended" }), instances: [inst("ready")] }, ""],
    ["busy workers are never released for surplus", { load: load(10), instances: [inst("ready", { load: 10 }), inst("ready", { load: 10 }), inst("ready", { load: 10 })] }, ""],
    ["a box attached by hand covers part of the load: one rental instead of two", { load: load(150), external: { ready: 1, capacity: 100 } }, "create"],
    ["a box attached by hand covers it all: nothing rented", { load: load(80), external: { ready: 1, capacity: 100 } }, ""],
    ["requests waiting at the edge of a silent endpoint: capacity for the backlog", { load: load(0, { waitingRequests: 3, waitingWorkload: 300, lastRequestAt: NOW }) }, "create"],
  ])("%s", (_name, over, expected) => {
    const p = plan(over);
    expect(kinds(p.actions)).toBe(expected);
    for (const a of p.actions) expect(a.reason.length).toBeGreaterThan(0);
  });

  it("asks for offers instead of creating when it has none", () => {
    const p = plan({ load: load(150), offers: undefined });
    expect(p.actions).toEqual([]);
    expect(p.needsOffers).toEqual([1]);
  });

  it("prefers measured perf per dollar over price", () => {
    const p = plan({
      load: load(50),
      groups: [group({ perf: { "RTX 4090": 100, "RTX 3090": 80, "A100 80GB": 300 } })],
      offers: new Map([[1, [offer(1, "RTX 4090", 0.4), offer(2, "RTX 3090", 0.2), offer(3, "A100 80GB", 1.5)]]]),
    });
    expect(p.actions).toMatchObject([{ kind: "create", offerId: 2, gpuName: "RTX 3090" }]);
  });

  it("ranks by price while nothing is measured", () => {
    const p = plan({ load: load(50), groups: [group()], offers: new Map([[1, [offer(1, "A100 80GB", 1.5), offer(2, "RTX 3090", 0.2)]]]) });
    expect(p.actions).toMatchObject([{ kind: "create", offerId: 2 }]);
  });

  it("values an unmeasured GPU type at the group's median, so a cheap one gets tried", () => {
    const p = plan({ load: load(50), offers: new Map([[1, [offer(1, "RTX 4090", 0.4), offer(2, "RTX 5090", 0.3)]]]) });
    expect(p.actions).toMatchObject([{ kind: "create", offerId: 2 }]);
  });

  it("releases the worst perf per dollar first", () => {
    const cheap = inst("ready", { dph: 0.4 });
    const dear = inst("ready", { dph: 0.8 });
    const p = plan({ load: load(80), params: params({ cold_workers: 0, cold_mult: 0 }), instances: [cheap, dear] });
    expect(p.actions).toMatchObject([{ kind: "destroy", instanceId: dear.id }]);
  });

  it("keeps one hot worker before inactivity_timeout, and lets it go after", () => {
    const workers = [inst("ready"), inst("ready")];
    // cold_workers counts hot and cold alike: 2 keeps the released one stopped, 1 does not.
    const before = plan({ params: params({ inactivity_timeout: 300, cold_workers: 2 }), load: load(0, { lastRequestAt: NOW - 100_000 }), instances: workers });
    expect(kinds(before.actions)).toBe("stop");
    const after = plan({ params: params({ inactivity_timeout: 300, cold_workers: 1 }), load: load(0, { lastRequestAt: NOW - 400_000 }), instances: workers });
    expect(kinds(after.actions)).toBe("destroy,stop");
    expect(after.summary.mode).toBe("idle");
  });

  it("never scales to zero without an inactivity_timeout", () => {
    const p = plan({ params: params({ inactivity_timeout: null }), load: load(0, { lastRequestAt: NOW - 86_400_000 }), instances: [inst("ready"), inst("ready")] });
    expect(kinds(p.actions)).toBe("stop");
  });

  it("idle and scaled to zero: the cold tier keeps cold_workers, destroys the rest", () => {
    const p = plan({
      params: params({ inactivity_timeout: 60, cold_workers: 1 }),
      load: load(0, { lastRequestAt: NOW - 120_000 }),
      instances: [inst("stopped"), inst("stopped"), inst("stopped")],
    });
    expect(kinds(p.actions)).toBe("destroy,destroy");
  });

  it("keeps cold capacity of cold_mult × target", () => {
    const hot = [inst("ready", { load: 50 })];
    const cold = [inst("stopped"), inst("stopped"), inst("stopped"), inst("stopped")];
    // target 55.6 u/s; cold_mult 3 → 166.7 u/s loaded: the busy worker (100) plus one cold one (100).
    const p = plan({ load: load(50), params: params({ cold_workers: 0, cold_mult: 3 }), instances: [...hot, ...cold] });
    expect(kinds(p.actions)).toBe("destroy,destroy,destroy");
  });

  it("a group's own cold_workers keeps its instances", () => {
    const p = plan({
      params: params({ inactivity_timeout: 60, cold_workers: 0 }),
      groups: [group({ cold_workers: 2, perf: { "RTX 4090": 100 } })],
      load: load(0, { lastRequestAt: NOW - 120_000 }),
      instances: [inst("stopped"), inst("stopped"), inst("stopped")],
    });
    expect(kinds(p.actions)).toBe("destroy");
  });

  it("never rents the same offer twice when groups share a search", () => {
    const shared = [offer(1), offer(2)];
    const p = plan({
      load: load(1000),
      groups: [group({ id: 1, perf: { "RTX 4090": 100 } }), group({ id: 2, name: "b", perf: { "RTX 4090": 100 } })],
      offers: new Map([
        [1, shared],
        [2, shared],
      ]),
    });
    const offers = p.actions.flatMap((a) => (a.kind === "create" ? [a.offerId] : []));
    expect(offers.sort()).toEqual([1, 2]);
  });

  it("respects a group's max_workers", () => {
    const p = plan({ load: load(1000), groups: [group({ max_workers: 2, perf: { "RTX 4090": 100 } })] });
    expect(kinds(p.actions)).toBe("create,create");
  });

  it("summarises the decision", () => {
    const p = plan({ load: load(90), instances: [inst("ready")] });
    expect(p.summary).toMatchObject({ mode: "active", hot: 1, cold: 0, readyCapacity: 100 });
    expect(p.summary.target).toBeCloseTo(100, 5);
    expect(p.summary.forecast.predicted).toBeCloseTo(90, 5);
  });
});
