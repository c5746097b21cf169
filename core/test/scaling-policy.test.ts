import { describe, expect, it } from "vitest";
import { applyActions } from "../fleet.ts";
import type { LoadForecast } from "../load-forecast.ts";
import { DEFAULT_SCALING, planEndpoint, targetOf, type EndpointPlanInput } from "../scaling-policy.ts";
import { LOAD_BUCKET_MS } from "../snapshot.ts";
import { NOW, group, inst, input, kinds, load, offer, params } from "./fleet-fixtures.ts";

function plan(over: Partial<EndpointPlanInput>) {
  return planEndpoint(input(over));
}

describe("targetOf", () => {
  const fc = (over: Partial<LoadForecast>): LoadForecast => ({ short: 0, long: 0, burst: 0, backlog: 0, predicted: 0, ...over });
  const none = { short: false, burst: false };
  it.each<[string, Partial<LoadForecast>, number, { short: boolean; burst: boolean }, number]>([
    ["the sustained load with target_util's headroom", { long: 90, short: 80 }, 0, none, 100],
    ["plus the backlog, with the headroom too", { long: 90, backlog: 9 }, 0, none, 110],
    ["a short peak above it may use the headroom", { long: 90, short: 95 }, 0, none, 100],
    ["a short peak beyond the headroom, at full use", { long: 90, short: 120 }, 0, none, 120],
    ["the short window plus the backlog", { long: 10, short: 100, backlog: 20 }, 0, none, 120],
    ["the burst floor at full use", { long: 10, burst: 150 }, 0, none, 150],
    ["min_load with the headroom", { long: 10 }, 90, none, 100],
    ["with headroom on the short window (as before)", { long: 90, short: 108 }, 0, { short: true, burst: false }, 120],
    ["with headroom on the burst floor (as before)", { burst: 90 }, 0, { short: false, burst: true }, 100],
  ])("%s", (_name, f, minLoad, headroom, expected) => {
    expect(targetOf(fc(f), params({ min_load: minLoad, target_util: 0.9 }), headroom)).toBeCloseTo(expected, 9);
  });
});

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
    ["busy workers are never released for surplus: the surplus is drained", { load: load(10), instances: [inst("ready", { load: 10 }), inst("ready", { load: 10 }), inst("ready", { load: 10 })] }, "drain,drain"],
    ["a drained worker still busy is left to finish", { load: load(10), instances: [inst("ready", { load: 10 }), inst("ready", { load: 10, drained: true })] }, ""],
    ["a drained worker gone idle is released (kept cold)", { load: load(10), instances: [inst("ready", { load: 10 }), inst("ready", { drained: true })] }, "stop"],
    ["a drained worker gone idle beyond the cold tier is destroyed", { load: load(10), params: params({ cold_workers: 0, cold_mult: 0 }), instances: [inst("ready", { load: 10 }), inst("ready", { drained: true })] }, "destroy"],
    ["load came back: the drained worker is put back, nothing restarted or rented", { load: load(150), instances: [inst("ready", { load: 90 }), inst("ready", { load: 5, drained: true }), inst("stopped")] }, "undrain"],
    ["suspended endpoint: a drained worker serves again", { load: load(10), params: params({ endpoint_state: "suspended" }), instances: [inst("ready", { load: 10 }), inst("ready", { load: 3, drained: true })] }, "undrain"],
    ["stopped endpoint: drained workers are released with the rest", { load: load(10), params: params({ endpoint_state: "stopped" }), instances: [inst("ready", { load: 10 }), inst("ready", { load: 3, drained: true })] }, "stop,stop"],
    ["the last serving worker is never drained", { load: load(1), instances: [inst("ready", { load: 1 })] }, ""],
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

  it("drains the least loaded of equally priced workers, as many as the target allows, and says why", () => {
    const busy = [inst("ready", { load: 40 }), inst("ready", { load: 5 }), inst("ready", { load: 30 }), inst("ready", { load: 20 })];
    // 150 u/s → target 166.7: two of the four 100-u/s workers cover it.
    const p = plan({ load: load(150), instances: busy });
    expect(p.actions).toMatchObject([
      { kind: "drain", instanceId: busy[1]!.id },
      { kind: "drain", instanceId: busy[3]!.id },
    ]);
    expect(p.actions[0]!.reason).toMatch(/without it covers 166\.7/);
    expect(p.summary.drained).toBe(0);
  });

  it("drains the worst perf per dollar first", () => {
    const cheap = inst("ready", { load: 5, dph: 0.4 });
    const dear = inst("ready", { load: 50, dph: 0.8 });
    const p = plan({ load: load(50), instances: [cheap, dear] });
    expect(p.actions).toMatchObject([{ kind: "drain", instanceId: dear.id }]);
  });

  it("over max_workers, gives up a drained idle worker before a serving idle one, and a serving idle one before a drained busy one", () => {
    const busy = inst("ready", { load: 10 });
    const idle = inst("ready");
    const drainedIdle = inst("ready", { drained: true });
    const drainedBusy = inst("ready", { drained: true, load: 2 });
    const p = plan({ load: load(10), params: params({ max_workers: 2 }), instances: [busy, drainedBusy, idle, drainedIdle] });
    const limited = p.actions.filter((a) => /max_workers/.test(a.reason)).map((a) => (a.kind === "create" ? "" : a.instanceId));
    expect(limited).toEqual([drainedIdle.id, idle.id]);
  });

  it("drains nothing while the fleet is still scaling up", () => {
    const p = plan({ load: load(300), instances: [inst("ready", { load: 5 }), inst("ready", { load: 5 }), inst("loading")] });
    expect(kinds(p.actions)).toBe("create");
  });

  it("drains nothing with the drain setting off: busy workers then stay", () => {
    const p = planEndpoint({ ...input({ load: load(10), instances: [inst("ready", { load: 10 }), inst("ready", { load: 10 })] }), settings: { ...DEFAULT_SCALING, drain: false } });
    expect(p.actions).toEqual([]);
  });

  it("counts a drained worker as no capacity: with load, drained workers are put back before anything else", () => {
    const drained = [inst("ready", { load: 5, drained: true, dph: 0.8 }), inst("ready", { load: 5, drained: true })];
    const p = plan({ load: load(80), instances: [...drained, inst("stopped")] });
    // Best perf per dollar first; one covers 88.9 u/s.
    expect(p.actions).toMatchObject([{ kind: "undrain", instanceId: drained[1]!.id }]);
    expect(p.summary.readyCapacity).toBe(200);
  });

  it("a busy oversized fleet shrinks by draining: drained, then idle, then released", () => {
    // Pass 1: four busy workers, load for two. Two are drained.
    let instances = [inst("ready", { load: 40 }), inst("ready", { load: 5 }), inst("ready", { load: 30 }), inst("ready", { load: 20 })];
    const steps: string[] = [];
    const pass = (over: Partial<EndpointPlanInput> = {}) => {
      const i = input({ load: load(150), instances, params: params({ cold_workers: 3, cold_mult: 0 }), ...over });
      const p = planEndpoint(i);
      steps.push(kinds(p.actions));
      instances = applyActions({ instances, offers: new Map() }, p.actions, NOW, (k) => `new${k}`).instances;
      return p;
    };
    pass();
    // Pass 2: the router sends them nothing; one finished its work, one still has some.
    instances = instances.map((v) => (v.drained ? { ...v, load: v.id === instances.find((x) => x.drained)!.id ? 0 : 3 } : v));
    pass();
    // Pass 3: both idle now.
    instances = instances.map((v) => (v.drained ? { ...v, load: 0 } : v));
    pass();
    // cold_workers 3: the first to go idle is beyond the tier (2 serving + 1 still draining are 3
    // loaded already); the second is kept cold (2 serving + it).
    expect(steps).toEqual(["drain,drain", "destroy", "stop"]);
    expect(instances.map((v) => v.state).sort()).toEqual(["ready", "ready", "stopped"]);
    // Nothing left to do.
    expect(pass().actions).toEqual([]);
  });

  it("puts a drained worker back before restarting or renting when the load rises past what the rest covers", () => {
    const instances = [inst("ready", { load: 60 }), inst("ready", { load: 8, drained: true }), inst("stopped")];
    const p = plan({ load: load(300), instances });
    expect(p.actions.map((a) => a.kind)).toEqual(["undrain", "start", "create"]);
  });

  it("plans the backlog over the group's boot time, not target_queue_time", () => {
    // 3,000 u waiting on a silent endpoint; boots take 150 s: 20 u/s → one 100-u/s worker, not four.
    const waiting = load(0, { waitingRequests: 30, waitingWorkload: 3000, lastRequestAt: NOW });
    const slow = plan({ load: waiting, groups: [group({ perf: { "RTX 4090": 100 }, loadTimesS: [140, 150, 160] })] });
    expect(slow.summary.forecast.backlog).toBeCloseTo(20, 9);
    expect(kinds(slow.actions)).toBe("create");
    const unknown = plan({ load: waiting });
    expect(unknown.summary.forecast.backlog).toBeCloseTo(3000 / DEFAULT_SCALING.defaultBootS, 9);
  });

  it("keeps capacity for the largest burst of the last hour after the windows forgot it", () => {
    const buckets = load(1).buckets.map((b, i) => (i === 0 ? b : b));
    const burst = { start: NOW - 50 * 60_000 - ((NOW - 50 * 60_000) % LOAD_BUCKET_MS), arrived: 3000, requests: 30, served: 0, rejected: 0, held_peak: 0 };
    const p = plan({ load: load(1, { buckets: [burst, ...buckets] }), instances: [inst("ready", { load: 1 }), inst("ready", { load: 1 })] });
    // 3,000 u in 10 s over 10 s + target_queue_time 10 s: 150 u/s → target 166.7 keeps both.
    expect(p.summary.forecast.burst).toBeCloseTo(150, 9);
    expect(p.actions).toEqual([]);
  });

  it("summarises the decision", () => {
    const p = plan({ load: load(90), instances: [inst("ready")] });
    expect(p.summary).toMatchObject({ mode: "active", hot: 1, cold: 0, readyCapacity: 100 });
    expect(p.summary.target).toBeCloseTo(100, 5);
    expect(p.summary.forecast.predicted).toBeCloseTo(90, 5);
  });
});

describe("planEndpoint: worker groups", () => {
  /** Offers of their own for group `g` (ids g×100 + 1…), `n` of them. */
  const offersOf = (g: number, n = 20) => Array.from({ length: n }, (_, i) => offer(g * 100 + i + 1));
  const book = { "RTX 4090": 100 };
  const creates = (p: ReturnType<typeof planEndpoint>, g: number) => p.actions.filter((a) => a.kind === "create" && a.groupId === g).length;
  const targetOfGroup = (p: ReturnType<typeof planEndpoint>, g: number) => p.summary.groups.find((x) => x.id === g)!.target;
  /** `rate` u/s arriving steadily, split over groups as `by_group` figures say. */
  const byGroupLoad = (rate: number, split: Record<number, Partial<{ arrived: number; routed_workload: number; served: number }>>) =>
    load(rate, {
      buckets: load(rate).buckets.map((b) => ({
        ...b,
        by_group: Object.fromEntries(
          Object.entries(split).map(([g, f]) => [g, { arrived: (f.arrived ?? 0) * 10, requests: 1, routed: 1, routed_workload: (f.routed_workload ?? 0) * 10, served: (f.served ?? 0) * 10 }]),
        ),
      })),
    });

  it("sizes groups with shares 90/10 about 9:1", () => {
    const groups = [group({ id: 1, name: "a", perf: book, traffic_share: 90 }), group({ id: 2, name: "b", perf: book, traffic_share: 10 })];
    const offers = new Map([
      [1, offersOf(1)],
      [2, offersOf(2)],
    ]);
    // 900 u/s → target 1000 u/s: 900 for a, 100 for b.
    const byShare = plan({ load: load(900), groups, offers });
    expect(targetOfGroup(byShare, 1)).toBeCloseTo(900, 6);
    expect(targetOfGroup(byShare, 2)).toBeCloseTo(100, 6);
    expect([creates(byShare, 1), creates(byShare, 2)]).toEqual([9, 1]);
    // The router's per-group figures say the same: the same sizes.
    const measured = plan({ load: byGroupLoad(900, { 1: { arrived: 810 }, 2: { arrived: 90 } }), groups, offers });
    expect(targetOfGroup(measured, 1)).toBeCloseTo(900, 6);
    expect(targetOfGroup(measured, 2)).toBeCloseTo(100, 6);
    expect([creates(measured, 1), creates(measured, 2)]).toEqual([9, 1]);
  });

  it("renormalises shares over the primary groups, and gives a deleted group none", () => {
    const groups = [
      group({ id: 1, name: "a", perf: book, traffic_share: 3 }),
      group({ id: 2, name: "b", perf: book, traffic_share: 1 }),
      group({ id: 3, name: "gone", perf: book, traffic_share: 4, deleted: true }),
      group({ id: 4, name: "spill", perf: book, traffic_share: 4, role: "overflow" }),
    ];
    const p = plan({ load: load(360), groups, offers: new Map([1, 2, 3, 4].map((g) => [g, offersOf(g)])) });
    expect([1, 2, 3, 4].map((g) => targetOfGroup(p, g))).toEqual([300, 100, 0, 0].map((x) => expect.closeTo(x, 6)));
    expect([1, 2, 3, 4].map((g) => creates(p, g))).toEqual([3, 1, 0, 0]);
  });

  it("keeps a group whose share was just lowered at its own recent demand, while the other grows (no drain until it is ready)", () => {
    // Rollout finished (0/100) a minute ago: a's workers served 90 % of the last ten minutes.
    const groups = [group({ id: 1, name: "old", perf: book, traffic_share: 0 }), group({ id: 2, name: "new", perf: book, traffic_share: 1 })];
    const busy = [inst("ready", { groupId: 1, load: 30 }), inst("ready", { groupId: 1, load: 30 }), inst("ready", { groupId: 2, load: 10 })];
    const p = plan({ load: byGroupLoad(180, { 1: { arrived: 162 }, 2: { arrived: 18 } }), groups, instances: busy, offers: new Map([[2, offersOf(2)]]) });
    expect(targetOfGroup(p, 1)).toBeCloseTo(180, 6);
    expect(targetOfGroup(p, 2)).toBeCloseTo(200, 6);
    expect(kinds(p.actions)).toBe("create");
    expect(p.actions[0]).toMatchObject({ groupId: 2 });
    // Once the new group is ready and the old one's demand has aged out, the old one is drained.
    const later = plan({ load: byGroupLoad(180, { 2: { arrived: 180 } }), groups, instances: [...busy, inst("ready", { groupId: 2, load: 10 })], offers: new Map([[2, offersOf(2)]]) });
    expect(kinds(later.actions)).toBe("drain,drain");
    expect(later.actions.every((a) => a.groupId === 1)).toBe(true);
  });

  it("gives an overflow group nothing while the primary groups have room, and sizes it for the overflow it served", () => {
    const groups = [group({ id: 1, name: "main", perf: book }), group({ id: 2, name: "spill", perf: book, role: "overflow" })];
    const offers = new Map([
      [1, offersOf(1)],
      [2, offersOf(2)],
    ]);
    const roomy = plan({ load: load(450), groups, offers });
    expect(targetOfGroup(roomy, 2)).toBe(0);
    expect([creates(roomy, 1), creates(roomy, 2)]).toEqual([5, 0]);
    // It served 180 u/s of overflow over the last ten minutes (spills while the primaries were full).
    const served = plan({ load: byGroupLoad(450, { 1: { arrived: 450, served: 270 }, 2: { routed_workload: 180, served: 180 } }), groups, offers });
    expect(targetOfGroup(served, 2)).toBeCloseTo(200, 6);
    expect(creates(served, 2)).toBe(2);
  });

  it("scales an overflow group up from zero when the primary groups are full (their max_workers), and never past its own", () => {
    const groups = [
      group({ id: 1, name: "main", perf: book, max_workers: 2 }),
      group({ id: 2, name: "spill", perf: { "RTX 3090": 50 }, role: "overflow", max_workers: 4 }),
    ];
    const offers = new Map([
      [1, offersOf(1)],
      [2, Array.from({ length: 20 }, (_, i) => offer(201 + i, "RTX 3090", 0.2))],
    ]);
    // 900 u/s → 1000 wanted; main holds 200 at most: 800 spill, 16 RTX 3090s wanted, 4 allowed.
    const p = plan({ load: load(900), groups, offers });
    expect(creates(p, 1)).toBe(2);
    expect(targetOfGroup(p, 2)).toBeCloseTo(800, 6);
    expect(creates(p, 2)).toBe(4);
    expect(p.actions.find((a) => a.groupId === 2)!.reason).toMatch(/group 'spill' needs 800\.0 u\/s \(800\.0 u\/s the primary groups cannot take/);
    // Without offers yet, it asks for the overflow group's too.
    expect(plan({ load: load(900), groups, offers: undefined }).needsOffers.sort()).toEqual([1, 2]);
  });

  it("spills what a full primary group cannot take to the other primary groups first", () => {
    const groups = [
      group({ id: 1, name: "a", perf: book, max_workers: 1 }),
      group({ id: 2, name: "b", perf: book }),
      group({ id: 3, name: "spill", perf: book, role: "overflow" }),
    ];
    // 540 u/s → 600 wanted, 300 each; a holds 100: b takes 500, the overflow group nothing.
    const p = plan({ load: load(540), groups, offers: new Map([1, 2, 3].map((g) => [g, offersOf(g)])) });
    expect([1, 2, 3].map((g) => creates(p, g))).toEqual([1, 5, 0]);
    expect(targetOfGroup(p, 2)).toBeCloseTo(500, 6);
  });

  it("never exceeds a group's max_workers, or the endpoint's across groups", () => {
    const groups = [group({ id: 1, name: "a", perf: book, max_workers: 2 }), group({ id: 2, name: "b", perf: book, max_workers: 3 })];
    const offers = new Map([
      [1, offersOf(1)],
      [2, offersOf(2)],
    ]);
    const p = plan({ load: load(5000), groups, offers, instances: [inst("ready", { groupId: 1, load: 50 })] });
    expect([creates(p, 1), creates(p, 2)]).toEqual([1, 3]);
    const capped = plan({ load: load(5000), groups, offers, params: params({ max_workers: 3 }), instances: [inst("ready", { groupId: 1, load: 50 })] });
    expect(capped.actions.filter((a) => a.kind === "create")).toHaveLength(2);
    // Over a group's max_workers already (it was lowered): the group gives up the surplus.
    const over = plan({ load: load(10), groups, offers, instances: [inst("ready", { groupId: 2 }), inst("ready", { groupId: 2 }), inst("ready", { groupId: 2 }), inst("stopped", { groupId: 2 })] });
    expect(over.actions.filter((a) => /group's max_workers \(3\)/.test(a.reason))).toHaveLength(1);
  });

  it("at the endpoint's max_workers, a cold instance of a group that has what it needs makes room for a group that does not", () => {
    const groups = [group({ id: 1, name: "a", perf: book }), group({ id: 2, name: "b", perf: book })];
    const cold = inst("stopped", { groupId: 1 });
    const p = plan({
      load: load(80),
      groups,
      params: params({ max_workers: 2 }),
      instances: [inst("ready", { groupId: 1, load: 20 }), cold],
      offers: new Map([[2, offersOf(2)]]),
    });
    expect(p.actions).toMatchObject([
      { kind: "destroy", instanceId: cold.id, reason: expect.stringMatching(/making room at max_workers for group 'b'/) },
      { kind: "create", groupId: 2 },
    ]);
  });

  it("releases a deleted group's instances: idle and cold ones at once, busy ones drained first; never adds one", () => {
    const groups = [group({ id: 1, name: "a", perf: book }), group({ id: 2, name: "b", perf: book, deleted: true })];
    const busy = inst("ready", { groupId: 2, load: 40 });
    const leaving = inst("ready", { groupId: 2, load: 5, drained: true });
    const idle = inst("ready", { groupId: 2 });
    const cold = inst("stopped", { groupId: 2 });
    const booting = inst("loading", { groupId: 2 });
    const p = plan({
      load: load(150),
      groups,
      params: params({ cold_workers: 5 }),
      instances: [inst("ready", { groupId: 1, load: 50 }), busy, leaving, idle, cold, booting],
      offers: new Map([
        [1, offersOf(1)],
        [2, offersOf(2)],
      ]),
    });
    const of = (id: string) => p.actions.filter((a) => a.kind !== "create" && a.instanceId === id);
    expect(of(busy.id)).toMatchObject([{ kind: "drain", reason: expect.stringMatching(/worker group 'b' deleted: finishing its requests/) }]);
    expect(of(leaving.id)).toEqual([]);
    for (const v of [idle, cold, booting]) expect(of(v.id)).toMatchObject([{ kind: "destroy", reason: expect.stringMatching(/worker group 'b' deleted/) }]);
    // Its share is a's now: 150 u/s → 166.7, a has 100 ready: one more, in a.
    expect(p.actions.filter((a) => a.kind === "create")).toMatchObject([{ groupId: 1 }]);
    expect(targetOfGroup(p, 2)).toBe(0);
    // Once idle, the drained one goes too, with nothing else to do.
    const later = plan({ load: load(150), groups, params: params({ cold_workers: 5 }), instances: [inst("ready", { groupId: 1, load: 50 }), inst("ready", { groupId: 1, load: 50 }), { ...busy, drained: true, load: 0 }] });
    expect(later.actions).toMatchObject([{ kind: "destroy", instanceId: busy.id, reason: expect.stringMatching(/deleted: drained and idle/) }]);
  });

  it("rents nothing on a machine that holds one of its instances (a stopped one restarted in the same plan would take it back)", () => {
    const stopped = inst("stopped", { machineId: 1 });
    const running = inst("ready", { load: 90, machineId: 2 });
    // 450 u/s → 500 wanted: the ready one and the restarted one give 200, three rentals more;
    // offers 1 and 2 (the cheapest) are those two machines.
    const offers = [offer(1, "RTX 4090", 0.3), offer(2, "RTX 4090", 0.3), offer(3), offer(4), offer(5), offer(6)];
    const p = plan({ load: load(450), instances: [stopped, running], offers: new Map([[1, offers]]) });
    expect(p.actions.filter((a) => a.kind === "start")).toMatchObject([{ instanceId: stopped.id }]);
    expect(p.actions.flatMap((a) => (a.kind === "create" ? [a.offerId] : [])).sort()).toEqual([3, 4, 5]);
  });
});
