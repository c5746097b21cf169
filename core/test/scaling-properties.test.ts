// Invariants of the scaling policy over generated endpoints, fleets, loads and offers (fast-check).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyActions, isBilled, isDrained, isHot, type InstanceView } from "../fleet.ts";
import { estimatePerf } from "../placement.ts";
import { planEndpoint, type EndpointPlanInput } from "../scaling-policy.ts";
import type { VastOffer } from "../vast-api.ts";
import { NOW, group, load, params, steadyLoad } from "./fleet-fixtures.ts";

const GPUS = ["RTX 4090", "RTX 3090", "A100 80GB"] as const;
const STATES = ["creating", "loading", "starting", "ready", "stopping", "stopped", "error", "destroying"] as const;

const arbInstance = (i: number) =>
  fc.record({
    state: fc.constantFrom(...STATES),
    groupId: fc.constantFrom(1, 2),
    gpuName: fc.constantFrom(...GPUS),
    dph: fc.double({ min: 0.05, max: 3, noNaN: true }),
    perf: fc.option(fc.double({ min: 5, max: 500, noNaN: true }), { nil: null }),
    load: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 200, noNaN: true })),
    ageS: fc.integer({ min: 0, max: 7200 }),
    startFailures: fc.integer({ min: 0, max: 2 }),
    failedAgoS: fc.option(fc.integer({ min: 0, max: 3600 }), { nil: null }),
    drained: fc.boolean(),
  }).map(
    (r): InstanceView => ({
      id: `i${String(i).padStart(3, "0")}`,
      groupId: r.groupId,
      vastId: 100 + i,
      state: r.state,
      since: NOW - r.ageS * 1000,
      gpuName: r.gpuName,
      dph: r.dph,
      // A ready worker has always been benchmarked.
      perf: r.state === "ready" ? (r.perf ?? 100) : r.perf,
      load: r.state === "ready" ? r.load : 0,
      startFailures: r.state === "stopped" ? r.startFailures : 0,
      lastStartFailureAt: r.failedAgoS === null ? null : NOW - r.failedAgoS * 1000,
      // The router's drain: on ready workers, and kept on stopped ones until a start clears it.
      ...((r.state === "ready" || r.state === "stopped") && r.drained ? { drained: true } : {}),
    }),
  );

const arbInstances = fc.integer({ min: 0, max: 10 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => arbInstance(i))));

// One offer id is one offer, at one price: each list numbers its own (a shared search shares the list).
const arbOffers = (firstId: number) =>
  fc
    .array(fc.record({ gpu: fc.constantFrom(...GPUS), dph: fc.double({ min: 0.05, max: 3, noNaN: true }) }), { maxLength: 12 })
    .map((list): VastOffer[] => list.map((o, i) => ({ id: firstId + i, gpu_name: o.gpu, dph_total: o.dph, gpu_ram: 24_000, num_gpus: 1 })));

const arbPerfBook = fc.dictionary(fc.constantFrom(...GPUS), fc.double({ min: 5, max: 500, noNaN: true }));

const arbInput = fc
  .record({
    instances: arbInstances,
    offers1: arbOffers(10_000),
    shareOffers: fc.boolean(),
    offers2: arbOffers(20_000),
    book1: arbPerfBook,
    book2: arbPerfBook,
    group2Max: fc.option(fc.integer({ min: 0, max: 6 }), { nil: null }),
    group2Cold: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
    // Rollouts (90/10, 100/0), an overflow group, a group deleted while it still has instances.
    share1: fc.constantFrom(1, 1, 9, 0),
    share2: fc.constantFrom(1, 1, 1, 0),
    group2Role: fc.constantFrom("primary", "primary", "overflow"),
    group2Deleted: fc.constantFrom(false, false, false, true),
    rate: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 2000, noNaN: true })),
    waiting: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2000 })),
    idleS: fc.option(fc.integer({ min: 0, max: 7200 }), { nil: null }),
    min_load: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 500, noNaN: true })),
    min_cold_load: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 500, noNaN: true })),
    target_util: fc.double({ min: 0.3, max: 1, noNaN: true }),
    cold_mult: fc.double({ min: 0, max: 4, noNaN: true }),
    cold_workers: fc.integer({ min: 0, max: 6 }),
    max_workers: fc.integer({ min: 0, max: 12 }),
    max_hourly_cost: fc.option(fc.double({ min: 0, max: 10, noNaN: true }), { nil: null }),
    inactivity_timeout: fc.option(fc.integer({ min: 0, max: 3600 }), { nil: null }),
    endpoint_state: fc.constantFrom("active", "active", "active", "suspended", "stopped"),
    external: fc.option(fc.record({ ready: fc.integer({ min: 1, max: 3 }), capacity: fc.double({ min: 1, max: 500, noNaN: true }) }), { nil: undefined }),
  })
  .map(
    (r): EndpointPlanInput => ({
      now: NOW,
      endpoint: "ep",
      params: params({
        min_load: r.min_load,
        min_cold_load: r.min_cold_load,
        target_util: r.target_util,
        cold_mult: r.cold_mult,
        cold_workers: r.cold_workers,
        max_workers: r.max_workers,
        max_hourly_cost: r.max_hourly_cost,
        inactivity_timeout: r.inactivity_timeout,
        endpoint_state: r.endpoint_state,
      }),
      deleted: false,
      groups: [
        group({ id: 1, perf: r.book1, traffic_share: r.share1 }),
        group({ id: 2, name: "second", perf: r.book2, max_workers: r.group2Max, cold_workers: r.group2Cold, traffic_share: r.share2, role: r.group2Role, deleted: r.group2Deleted }),
      ],
      load: {
        buckets: r.rate > 0 ? steadyLoad(r.rate) : [],
        waitingRequests: r.waiting > 0 ? 1 : 0,
        waitingWorkload: r.waiting,
        lastRequestAt: r.idleS === null ? null : NOW - r.idleS * 1000,
      },
      instances: r.instances,
      ...(r.external ? { external: r.external } : {}),
      offers: new Map([
        [1, r.offers1],
        [2, r.shareOffers ? r.offers1 : r.offers2],
      ]),
    }),
  );

const newId = (i: number) => `new${i}`;
const after = (input: EndpointPlanInput) => {
  const plan = planEndpoint(input);
  const world = applyActions({ instances: [...input.instances], offers: new Map(input.offers) }, plan.actions, input.now, newId);
  return { plan, world };
};
const sumDph = (list: readonly InstanceView[]) => list.reduce((s, v) => s + (isBilled(v) ? v.dph : 0), 0);
// PROPERTY_RUNS=10000 for a long soak; 400 keeps the suite fast.
const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const RUNS = { numRuns: Number(env.PROPERTY_RUNS ?? 400) };

describe("planEndpoint: properties", () => {
  it("never leaves more instances than max_workers (beyond those already being destroyed)", () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const { world } = after(input);
        const leaving = input.instances.filter((v) => v.state === "destroying").length;
        expect(world.instances.length).toBeLessThanOrEqual(Math.max(input.params.max_workers, leaving));
        const g2 = world.instances.filter((v) => v.groupId === 2).length;
        const g2Leaving = input.instances.filter((v) => v.groupId === 2 && v.state === "destroying").length;
        expect(g2).toBeLessThanOrEqual(Math.max(input.groups[1]!.max_workers ?? input.params.max_workers, g2Leaving));
      }),
      RUNS,
    );
  });

  it("never leaves the billed $/h above max_hourly_cost, except what is already stopping or leaving", () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const cap = input.params.max_hourly_cost;
        if (cap === null) return;
        const { world } = after(input);
        const beyondReach = sumDph(input.instances.filter((v) => v.state === "stopping" || v.state === "destroying"));
        expect(sumDph(world.instances)).toBeLessThanOrEqual(Math.max(cap, beyondReach) + 1e-6);
      }),
      RUNS,
    );
  });

  const moreLoad = (input: EndpointPlanInput, factor: number): EndpointPlanInput => ({
    ...input,
    load: {
      ...input.load,
      buckets: input.load.buckets.map((b) => ({ ...b, arrived: b.arrived * factor })),
      waitingWorkload: input.load.waitingWorkload * factor,
    },
  });

  // Groups are sized each for its own part. Where they compete for the endpoint's max_workers or
  // max_hourly_cost, more load in one group may take a slot or a dollar another group held (a group
  // measured differently, or keeping a cold instance while it is short itself); and a worker one
  // group puts back may make another group's idle worker, kept until then only so the endpoint's
  // ready fleet covers its target, surplus. So, with several live groups, these hold without the
  // endpoint-wide limits (each group's own max_workers stays) and without drained workers.
  const several = (input: EndpointPlanInput) => input.groups.filter((g) => !g.deleted).length > 1;
  const uncontended = (input: EndpointPlanInput): EndpointPlanInput =>
    several(input)
      ? { ...input, params: { ...input.params, max_workers: 50, max_hourly_cost: null }, instances: input.instances.map(({ drained: _d, ...v }) => v) }
      : input;

  it("more load never means fewer hot workers (no worker drained)", () => {
    fc.assert(
      fc.property(arbInput, fc.double({ min: 1, max: 20, noNaN: true }), (raw, factor) => {
        const input = uncontended({ ...raw, instances: raw.instances.map(({ drained: _d, ...v }) => v) });
        const hot = (i: EndpointPlanInput) => after(i).world.instances.filter(isHot).length;
        expect(hot(moreLoad(input, factor))).toBeGreaterThanOrEqual(hot(input));
      }),
      RUNS,
    );
  });

  it("more load never means less capacity serving or on its way (drained workers serve nothing)", () => {
    fc.assert(
      fc.property(arbInput, fc.double({ min: 1, max: 20, noNaN: true }), (raw, factor) => {
        const input = uncontended(raw);
        // A worker put back may stand in for an idle one released: count capacity, not workers.
        const capacity = (i: EndpointPlanInput) =>
          after(i)
            .world.instances.filter((v) => isHot(v) && !isDrained(v))
            .reduce((s, v) => s + (v.state === "ready" ? (v.perf ?? 0) : (v.perf ?? estimatePerf(i.groups.find((g) => g.id === v.groupId)?.perf, v.gpuName) ?? 0)), 0);
        expect(capacity(moreLoad(input, factor))).toBeGreaterThanOrEqual(capacity(input) - 1e-6);
      }),
      RUNS,
    );
  });

  it("never scales an active endpoint to zero before inactivity_timeout", () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const params = { ...input.params, endpoint_state: "active" as const, max_hourly_cost: null, max_workers: 50 };
        const idleS = input.load.waitingRequests > 0 ? 0 : input.load.lastRequestAt === null ? Infinity : (NOW - input.load.lastRequestAt) / 1000;
        // Only healthy fleets: a broken instance may be the last one, and its replacement needs an offer.
        const instances = input.instances.filter((v) => v.state === "ready" || v.state === "stopped");
        // A deleted group's workers are not routed to: they keep nothing warm.
        const deleted = new Set(input.groups.filter((g) => g.deleted).map((g) => g.id));
        const before = instances.some((v) => isHot(v) && !deleted.has(v.groupId));
        const timedOut = params.inactivity_timeout !== null && idleS > params.inactivity_timeout;
        // An endpoint that never saw a request has nothing to stay warm for.
        if (!before || timedOut || idleS === Infinity) return;
        const groups = input.groups.map((g) => ({ ...g, max_workers: null }));
        const { world } = after({ ...input, params, instances, groups });
        // A box attached by hand keeps the endpoint warm as well as a rented one; a drained one does not.
        expect(world.instances.filter((v) => isHot(v) && !isDrained(v)).length + (input.external?.ready ?? 0)).toBeGreaterThanOrEqual(1);
      }),
      RUNS,
    );
  });

  // Groups are sized each for its own target: a group's cold instances serve its own requests, so
  // they come before renting in that group (with one group: before any rental).
  it("restarts every restartable stopped instance of a group before renting in that group", () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const params = { ...input.params, max_hourly_cost: null };
        const { plan } = after({ ...input, params });
        const renting = new Set(plan.actions.flatMap((a) => (a.kind === "create" ? [a.groupId] : [])));
        if (renting.size === 0) return;
        const restartable = input.instances.filter(
          (v) => renting.has(v.groupId) && v.state === "stopped" && v.startFailures < 2 && (v.lastStartFailureAt === null || NOW - v.lastStartFailureAt >= 300_000),
        );
        // Each is restarted, unless a hard limit (max_workers) took it out first.
        for (const v of restartable) {
          const mine = plan.actions.find((a) => a.kind !== "create" && a.instanceId === v.id);
          expect(mine?.kind === "start" || (mine?.kind === "destroy" && /max_workers/.test(mine.reason))).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it("a plan applied once leaves nothing to do: planning again changes nothing", () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const first = after(input);
        const again = planEndpoint({ ...input, instances: first.world.instances, offers: first.world.offers });
        expect(again.actions).toEqual([]);
      }),
      RUNS,
    );
  });

  it("acts at most once per instance, with a reason for every action", () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const { plan } = after(input);
        const ids = plan.actions.flatMap((a) => (a.kind === "create" ? [] : [a.instanceId]));
        expect(new Set(ids).size).toBe(ids.length);
        for (const a of plan.actions) expect(a.reason).not.toBe("");
        const offers = plan.actions.flatMap((a) => (a.kind === "create" ? [a.offerId] : []));
        expect(new Set(offers).size).toBe(offers.length);
      }),
      RUNS,
    );
  });

  it("drains only while the ready fleet left serving covers the target, and never in a group it restarts or rents in", () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const { plan, world } = after(input);
        // A deleted group's workers are drained whatever the load (they finish, then go).
        const deleted = new Set(input.groups.filter((g) => g.deleted).map((g) => g.id));
        const drains = plan.actions.flatMap((a) => (a.kind === "drain" && !deleted.has(a.groupId) ? [a] : []));
        if (drains.length === 0) return;
        expect(plan.summary.mode).toBe("active");
        const growing = new Set(plan.actions.flatMap((a) => (a.kind === "create" || a.kind === "start" ? [a.groupId] : [])));
        for (const a of drains) expect(growing.has(a.groupId)).toBe(false);
        for (const a of drains) {
          const v = input.instances.find((x) => x.id === a.instanceId)!;
          expect(v.state === "ready" && !v.drained && v.load > 0).toBe(true);
        }
        const servingIn = (g: number | null) =>
          world.instances.filter((v) => v.state === "ready" && !v.drained && (g === null || v.groupId === g)).reduce((s, v) => s + (v.perf ?? 0), 0);
        expect(servingIn(null) + (input.external?.capacity ?? 0)).toBeGreaterThanOrEqual(plan.summary.target - 1e-6);
        // And each group that drained still covers its own target.
        for (const a of drains) expect(servingIn(a.groupId)).toBeGreaterThanOrEqual(plan.summary.groups.find((g) => g.id === a.groupId)!.target - 1e-6);
      }),
      RUNS,
    );
  });

  it("never takes a busy worker out of service by release for surplus: it is drained, and released once idle", () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        // No hard limit and an endpoint that is not stopped: only surplus can release a ready worker.
        const params = { ...input.params, max_hourly_cost: null, max_workers: 50, endpoint_state: input.params.endpoint_state === "stopped" ? ("active" as const) : input.params.endpoint_state };
        const groups = input.groups.map((g) => ({ ...g, max_workers: null }));
        const { plan } = after({ ...input, params, groups });
        for (const a of plan.actions) {
          if (a.kind !== "stop" && a.kind !== "destroy") continue;
          const v = input.instances.find((x) => x.id === a.instanceId);
          if (v?.state === "ready") expect(v.load).toBeLessThanOrEqual(0);
        }
      }),
      RUNS,
    );
  });

  it("puts every drained worker of a group back before it restarts or rents anything in that group", () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const { plan, world } = after({ ...input, params: { ...input.params, max_hourly_cost: null } });
        for (const g of new Set(plan.actions.flatMap((a) => (a.kind === "create" || a.kind === "start" ? [a.groupId] : [])))) {
          expect(world.instances.filter((v) => v.groupId === g && isDrained(v))).toEqual([]);
          const mine = plan.actions.filter((a) => a.groupId === g);
          const first = mine.findIndex((a) => a.kind === "create" || a.kind === "start");
          expect(mine.slice(first).some((a) => a.kind === "undrain")).toBe(false);
        }
      }),
      RUNS,
    );
  });

  it("aims at no less than the predicted load, and at the sustained load with target_util's headroom", () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const { plan } = after(input);
        if (plan.summary.mode !== "active") return;
        const f = plan.summary.forecast;
        expect(plan.summary.target).toBeGreaterThanOrEqual(f.predicted - 1e-6);
        expect(plan.summary.target).toBeGreaterThanOrEqual((Math.max(f.long, input.params.min_load) + f.backlog) / input.params.target_util - 1e-6);
      }),
      RUNS,
    );
  });

  it("plans nothing for a quiet endpoint with nothing rented", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), (cold_workers) => {
        const p = planEndpoint({ now: NOW, endpoint: "q", params: params({ cold_workers }), deleted: false, groups: [group()], load: load(0), instances: [], offers: new Map() });
        expect(p.actions).toEqual([]);
      }),
    );
  });
});
