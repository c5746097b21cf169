// The scaling decision for one endpoint, pure: from its parameters, its load picture, its fleet and
// the offers on sale to a plan of actions (create, start, stop, destroy), each with a reason.
// The scaler Worker runs it every minute and on "needs capacity now"; the autoscaling simulator runs
// the very same function. Definitions and formulas: docs/scaler.md.
import type { EndpointParams, GroupRole } from "./endpoint.ts";
import { groupHistory, shareWeights } from "./group-targets.ts";
import { applyActions, isBilled, isCold, isDrained, isHot, type Action, type InstanceView } from "./fleet.ts";
import { DEFAULT_DEADLINE, loadDeadlineS, quantile, type DeadlineBounds } from "./load-deadline.ts";
import { DEFAULT_WINDOWS, forecastLoad, type ForecastWindows, type LoadForecast } from "./load-forecast.ts";
import { compareBestFirst, compareWorstFirst, estimatePerf, perfPerDollar, rankOffers, type PerfBook, type Priced, type RankedOffer } from "./placement.ts";
import type { LoadBucket } from "./snapshot.ts";
import type { VastOffer } from "./vast-api.ts";

export interface ScalingSettings {
  windows: ForecastWindows;
  loadDeadline: DeadlineBounds;
  /** A restart that has not reported ready after this many seconds is stuck. */
  startDeadlineS: number;
  /** Restart failures (`resources_unavailable`) after which a stopped instance is given up. */
  maxStartFailures: number;
  /** Seconds after a failed restart before the instance is tried again. */
  restartBackoffS: number;
  /**
   * Plan the work waiting at the edge over a boot (max(target_queue_time, boot time)), not over
   * target_queue_time alone; the boot time is the median load time of the endpoint's groups.
   */
  backlogOverBoot: boolean;
  /** Boot time assumed while no group of the endpoint has a load time learned. */
  defaultBootS: number;
  /**
   * Which terms get target_util's headroom besides the sustained load: the short window's demand
   * and the burst floor (both false: they are sized at full use, see `targetOf`).
   */
  headroom: { short: boolean; burst: boolean };
  /** How the policy measured demand before: for comparisons in the simulator only. */
  legacy?: { perBucketDemand?: boolean; burstFromHandled?: boolean };
  /**
   * Drain busy workers the target does not need (the router stops routing to them; they are
   * released once idle). Off, only idle workers are released: lowest-wait routing keeps every worker
   * a little busy, so a fleet never shrinks under steady traffic.
   */
  drain: boolean;
}

export const DEFAULT_SCALING: ScalingSettings = {
  windows: DEFAULT_WINDOWS,
  loadDeadline: DEFAULT_DEADLINE,
  startDeadlineS: 180,
  maxStartFailures: 2,
  restartBackoffS: 300,
  backlogOverBoot: true,
  defaultBootS: 150,
  drain: true,
  headroom: { short: false, burst: false },
};

export interface GroupPolicy {
  id: number;
  name: string;
  /** null: the endpoint's value applies. */
  cold_workers: number | null;
  max_workers: number | null;
  /** Learned max_perf per GPU type. */
  perf: PerfBook;
  /** Seconds from creation to ready of the group's recent instances. */
  loadTimesS: readonly number[];
  /** Weight among the endpoint's primary groups (default 1). */
  traffic_share?: number;
  /** overflow: sized for what the primary groups cannot take (default primary). */
  role?: GroupRole;
  /** Soft-deleted: the router routes nothing to it; its instances are released, none is added. */
  deleted?: boolean;
}

export interface LoadPicture {
  buckets: readonly LoadBucket[];
  waitingRequests: number;
  waitingWorkload: number;
  lastRequestAt: number | null;
}

export interface EndpointPlanInput {
  now: number;
  endpoint: string;
  params: EndpointParams;
  /** Soft-deleted: every instance is released. */
  deleted: boolean;
  groups: readonly GroupPolicy[];
  load: LoadPicture;
  instances: readonly InstanceView[];
  /** Offers per group; absent until searched (the plan then names the groups it wants offers for). */
  offers?: ReadonlyMap<number, readonly VastOffer[]>;
  /**
   * Ready workers the scaler did not rent (boxes attached by hand): their capacity counts towards the
   * target, but they are never released and count against no limit.
   */
  external?: { ready: number; capacity: number };
  settings?: ScalingSettings;
}

/** active: scaling to load; idle: past inactivity_timeout (scaled to zero); the rest follow endpoint_state or deletion. */
export type PlanMode = "active" | "idle" | "suspended" | "stopped" | "deleted";

export interface PlanSummary {
  mode: PlanMode;
  forecast: LoadForecast;
  /** Hot capacity the plan aims for, units/s (`targetOf`; 0 unless active). */
  target: number;
  /** Capacity of ready workers before the plan. */
  readyCapacity: number;
  hot: number;
  /** Of the hot: ready but drained (leaving once idle). */
  drained: number;
  cold: number;
  billedDph: number;
  /** Seconds since the last request (0 while requests wait); null if none was ever seen. */
  idleS: number | null;
  /** Each group's part of the target and why (0 for deleted groups and unless active). */
  groups: GroupTarget[];
}

export interface GroupTarget {
  id: number;
  name: string;
  role: GroupRole;
  deleted: boolean;
  /** Hot capacity the plan aims for in this group, units/s. */
  target: number;
  /** Capacity it has or has on its way after the plan (estimates; unknown perf counts 0). */
  capacity: number;
  why: string;
}

export interface Plan {
  endpoint: string;
  actions: Action[];
  /** Groups it would create in but has no offers for yet: search, then plan again with them. */
  needsOffers: number[];
  summary: PlanSummary;
}

const EPS = 1e-9;
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : String(x));

/** Out-of-limit release order: cold first, then not-yet-serving, then idle, then busy (drained first within each). */
function limitRank(v: InstanceView): number {
  if (isCold(v)) return 0;
  if (v.state !== "ready") return 1;
  return (v.load > 0 ? 3 : 2) + (isDrained(v) ? 0 : 0.5);
}

/**
 * Hot capacity to aim for, units/s: the sustained load (long window, at least min_load) plus the
 * backlog, with target_util's headroom; and at least the last short window's demand plus the
 * backlog, and the burst floor, each at full use unless `headroom` says otherwise. The headroom is
 * there for the load to fluctuate into: a short-lived peak may use it, and the burst floor is
 * already sized to absorb its burst within target_queue_time. Dividing them by target_util too
 * rented a third H100 for each 30-s peak on the simulator's Mooncake trace.
 */
export function targetOf(f: LoadForecast, params: EndpointParams, headroom: ScalingSettings["headroom"] = DEFAULT_SCALING.headroom): number {
  const u = params.target_util;
  const sustained = (Math.max(f.long, params.min_load) + f.backlog) / u;
  const short = (f.short + f.backlog) / (headroom.short ? u : 1);
  const burst = f.burst / (headroom.burst ? u : 1);
  return Math.max(sustained, short, burst, params.min_load / u);
}

/** Seconds new capacity takes to boot: the median load time over the endpoint's groups, else the default. */
export function bootTimeS(groups: readonly GroupPolicy[], defaultBootS: number): number {
  const times = groups.flatMap((g) => g.loadTimesS).filter((t) => Number.isFinite(t) && t >= 0);
  return times.length > 0 ? quantile(times, 0.5) : defaultBootS;
}

export function planEndpoint(input: EndpointPlanInput): Plan {
  const s = input.settings ?? DEFAULT_SCALING;
  const { now, params } = input;
  const groups = new Map(input.groups.map((g) => [g.id, g]));
  /** Instances of a deleted group: drained by the router, released here, never replaced. */
  const retired = (v: InstanceView) => groups.get(v.groupId)?.deleted === true;
  const actions: Action[] = [];
  const needsOffers: number[] = [];

  // Working copies: the plan mutates them as it decides, so later steps see earlier decisions.
  let live = input.instances.filter((v) => v.state !== "destroying").map((v) => ({ ...v }));
  const leaving = input.instances.filter((v) => v.state === "destroying");

  const forecast = forecastLoad(input.load.buckets, input.load.waitingWorkload, now, {
    targetQueueTimeS: params.target_queue_time,
    bootS: s.backlogOverBoot ? bootTimeS(input.groups, s.defaultBootS) : 0,
    perBucketDemand: s.legacy?.perBucketDemand,
    burstFromHandled: s.legacy?.burstFromHandled,
    windows: s.windows,
  });
  const idleS =
    input.load.waitingRequests > 0 ? 0 : input.load.lastRequestAt === null ? null : Math.max(0, (now - input.load.lastRequestAt) / 1000);
  const timedOut = params.inactivity_timeout !== null && (idleS === null || idleS > params.inactivity_timeout);
  const mode: PlanMode = input.deleted
    ? "deleted"
    : params.endpoint_state === "stopped"
      ? "stopped"
      : params.endpoint_state === "suspended"
        ? "suspended"
        : timedOut
          ? "idle"
          : "active";

  const estimate = (v: InstanceView): number | null =>
    v.state === "ready" ? v.perf : (v.perf ?? estimatePerf(groups.get(v.groupId)?.perf, v.gpuName));
  const priced = (v: InstanceView): Priced => ({ key: v.id, dph: v.dph, perf: estimate(v) });
  const readyCapacity = live.reduce((sum, v) => sum + (v.state === "ready" ? (v.perf ?? 0) : 0), 0);
  const summary: PlanSummary = {
    mode,
    forecast,
    target: 0,
    readyCapacity,
    hot: live.filter(isHot).length,
    drained: live.filter(isDrained).length,
    cold: live.filter(isCold).length,
    billedDph: [...live, ...leaving].reduce((sum, v) => sum + (isBilled(v) ? v.dph : 0), 0),
    idleS,
    groups: [],
  };
  const plan = (): Plan => ({ endpoint: input.endpoint, actions, needsOffers, summary });
  const destroy = (v: InstanceView, reason: string) => {
    actions.push({ kind: "destroy", instanceId: v.id, groupId: v.groupId, reason });
    live = live.filter((x) => x !== v);
  };

  if (mode === "deleted") {
    for (const v of [...live]) destroy(v, "endpoint deleted");
    return plan();
  }

  // 1. Repairs, whatever the load: broken, stuck, or unrestartable instances are released.
  for (const v of [...live]) {
    const group = groups.get(v.groupId);
    const ageS = (now - v.since) / 1000;
    if (v.state === "error") destroy(v, `errored${v.detail ? `: ${v.detail}` : ""}`);
    else if (!group) destroy(v, "its worker group no longer exists");
    else if (v.state === "creating" || v.state === "loading") {
      const deadline = loadDeadlineS(group.loadTimesS, s.loadDeadline);
      if (ageS > deadline) destroy(v, `stuck loading for ${f1(ageS)} s (deadline ${f1(deadline)} s)`);
    } else if (v.state === "starting" && ageS > s.startDeadlineS) destroy(v, `stuck starting for ${f1(ageS)} s (deadline ${s.startDeadlineS} s)`);
    else if (v.state === "stopped" && v.startFailures >= s.maxStartFailures) destroy(v, `could not restart ${v.startFailures} times (GPU taken)`);
  }

  // Deleted groups, whatever the load: the router routes nothing to them any more. What is not
  // serving goes at once (cold ones too: the group will not need them again); a worker still
  // finishing requests is drained and destroyed by a later pass once idle.
  for (const v of [...live]) {
    if (!retired(v)) continue;
    const name = groups.get(v.groupId)!.name;
    if (v.state !== "ready") destroy(v, `worker group '${name}' deleted: ${v.state} instance released`);
    else if (v.load <= 0) destroy(v, `worker group '${name}' deleted: drained and idle`);
    else if (!v.drained) {
      actions.push({ kind: "drain", instanceId: v.id, groupId: v.groupId, reason: `worker group '${name}' deleted: finishing its requests, released once idle` });
      v.drained = true;
    }
  }

  // Never to zero before inactivity_timeout: an endpoint that has seen requests keeps one hot worker
  // (replacing it if it breaks) until it is idle that long. Depends on the load only, not on the
  // fleet, so a plan applied once leaves the next plan nothing to do.
  const keepOne = mode === "active" && idleS !== null;
  const target = mode === "active" ? targetOf(forecast, params, s.headroom) : 0;
  summary.target = target;

  // 2. Hard limits, whatever the load: max_workers (endpoint, then group), then max_hourly_cost.
  const groupMax = (g: number) => groups.get(g)?.max_workers ?? params.max_workers;
  const groupCount = new Map<number, number>();
  for (const v of [...live, ...leaving]) groupCount.set(v.groupId, (groupCount.get(v.groupId) ?? 0) + 1);
  let total = live.length + leaving.length;
  // Summed afresh after removals, in the order the next plan sums it: a running difference can land
  // on the other side of the cap by a rounding error, and the next plan would then release one more.
  const billedNow = () => [...live, ...leaving].reduce((sum, v) => sum + (isBilled(v) ? v.dph : 0), 0);
  let billed = billedNow();
  const cap = params.max_hourly_cost ?? Infinity;
  const byLimitRank = (a: InstanceView, b: InstanceView) => limitRank(a) - limitRank(b) || compareWorstFirst(priced(a), priced(b));
  const drop = (v: InstanceView, reason: string) => {
    destroy(v, reason);
    total--;
    groupCount.set(v.groupId, (groupCount.get(v.groupId) ?? 1) - 1);
    billed = billedNow();
  };
  // Groups first: what they give up may already bring the endpoint under its own cap.
  for (const v of [...live].sort(byLimitRank)) {
    const max = groupMax(v.groupId);
    if ((groupCount.get(v.groupId) ?? 0) > max) drop(v, `over the group's max_workers (${max})`);
  }
  for (const v of [...live].sort(byLimitRank)) {
    if (total <= params.max_workers) break;
    drop(v, `over max_workers (${params.max_workers})`);
  }
  /** Hot instances taken out of service by this plan (and why): the cold walk decides stop or destroy. */
  const released: InstanceView[] = [];
  const reasons = new Map<string, string>();
  const release = (v: InstanceView, why: string) => {
    released.push(v);
    live = live.filter((x) => x !== v);
    reasons.set(v.id, why);
  };
  if (billed > cap + EPS) {
    const costRelease: InstanceView[] = [];
    for (const v of live.filter((x) => isHot(x)).sort(byLimitRank)) {
      if (billed <= cap + EPS) break;
      costRelease.push(v);
      billed -= v.dph;
    }
    // Give back what the budget still allows (best last released first), so nothing is released that fits.
    for (const v of [...costRelease].reverse()) {
      if (billed + v.dph <= cap + EPS) {
        billed += v.dph;
        costRelease.splice(costRelease.indexOf(v), 1);
      }
    }
    const why = `over max_hourly_cost ($${params.max_hourly_cost}/h)`;
    for (const v of costRelease) {
      if (v.state === "ready") release(v, why);
      else {
        actions.push({ kind: "destroy", instanceId: v.id, groupId: v.groupId, reason: why });
        live = live.filter((x) => x !== v);
        total--;
        groupCount.set(v.groupId, (groupCount.get(v.groupId) ?? 1) - 1);
      }
    }
    billed = billedNow();
  }

  // 3. Each group's target. The primary groups share the endpoint's target (less what boxes attached
  // by hand cover) by traffic_share, each at least what its own recent demand asks for (a group whose
  // share was just lowered shrinks over the long window, as the endpoint does); overflow groups are
  // sized for the overflow they served, and below for what the primary groups cannot take.
  const external = input.external ?? { ready: 0, capacity: 0 };
  const roleOf = (g: GroupPolicy): GroupRole => g.role ?? "primary";
  const liveGroups = input.groups.filter((g) => !g.deleted);
  const primaries = liveGroups.filter((g) => roleOf(g) === "primary");
  const overflows = liveGroups.filter((g) => roleOf(g) === "overflow");
  const single = liveGroups.length === 1 && primaries.length === 1;
  // What a group's own history asks for: a primary group its sustained demand (long window, with
  // target_util's headroom), so one whose share was lowered shrinks over the long window as the
  // endpoint does (bursts and backlog are in the endpoint's target, and primary groups take each
  // other's spills); an overflow group the overflow it served, sustained or in the short window.
  const ownTarget = (g: GroupPolicy): number => {
    const history = groupHistory(input.load.buckets, g.id, roleOf(g));
    if (!history) return 0;
    const own = forecastLoad(history, 0, now, { targetQueueTimeS: params.target_queue_time, windows: { ...s.windows, burstS: 0 } });
    return roleOf(g) === "primary" ? own.long / params.target_util : Math.max(own.long / params.target_util, own.short);
  };
  interface GroupState { target: number; hot: number; known: number; probe: boolean; why: string }
  const state = new Map<number, GroupState>();
  const split = Math.max(0, target - external.capacity);
  const weights = shareWeights(primaries);
  for (const g of input.groups) {
    const st: GroupState = { target: 0, hot: 0, known: 0, probe: false, why: g.deleted ? "deleted" : "" };
    if (mode === "active" && !g.deleted) {
      const own = ownTarget(g);
      const part = roleOf(g) === "primary" ? weights.get(g.id)! * split : 0;
      st.target = Math.max(part, own);
      st.why = roleOf(g) === "overflow" ? `overflow it served ${f1(own)} u/s` : own > part + EPS ? `its own demand ${f1(own)} u/s` : `${f1(100 * weights.get(g.id)!)} % of ${f1(split)} u/s`;
    }
    state.set(g.id, st);
  }
  const serving = (v: InstanceView) => isHot(v) && !isDrained(v) && !retired(v);
  const addHot = (g: number, perf: number | null) => {
    const st = state.get(g)!;
    st.hot++;
    if (perf === null) st.probe = true;
    else st.known += perf;
  };
  for (const v of live.filter(serving)) addHot(v.groupId, estimate(v));
  const endpointHot = () => external.ready + [...state.values()].reduce((n, st) => n + st.hot, 0);
  // Keep one: while the endpoint has no serving worker, every group wants one, so the first worker
  // put back, restarted or rented anywhere (the fastest, then the best perf/$) satisfies them all.
  const satisfied = (g: number) => {
    const st = state.get(g)!;
    if (st.hot > 0) return st.target <= EPS || st.probe || st.known >= st.target - EPS;
    return st.target <= EPS && !(keepOne && endpointHot() === 0);
  };
  const need = (g: number) => {
    const st = state.get(g)!;
    const have = `have ${f1(st.known)}${st.probe ? " + unmeasured" : ""}`;
    if (single) return `need ${f1(st.target)} u/s (predicted ${f1(forecast.predicted)}, min_load ${params.min_load}, target_util ${params.target_util}), ${have}`;
    return `group '${groups.get(g)!.name}' needs ${f1(st.target)} u/s (${st.why}; endpoint ${f1(target)}), ${have}`;
  };

  // 4. Scale up (active only), group by group: put drained workers back (instant), restart cold
  // instances (seconds), then rent (minutes). Drained workers serve nothing: they count only once put back.
  const canRestart = (v: InstanceView) =>
    v.state === "stopped" && !retired(v) && v.startFailures < s.maxStartFailures && (v.lastStartFailureAt === null || now - v.lastStartFailureAt >= s.restartBackoffS * 1000);
  // Stopped instances whose restart failed (the GPU was taken) are the first to make room for a rental.
  const evictable = live.filter((v) => v.state === "stopped" && v.startFailures > 0 && !canRestart(v)).sort((a, b) => compareWorstFirst(priced(a), priced(b)));
  const blocked = (g: number) => total >= params.max_workers || (groupCount.get(g) ?? 0) >= groupMax(g);
  const minHot = target > EPS || keepOne ? 1 : 0;
  const readyOf = (g: number | null) => live.reduce((sum, v) => sum + ((g === null || v.groupId === g) && serving(v) && v.state === "ready" ? (v.perf ?? 0) : 0), 0);
  const endpointReady = () => readyOf(null);
  // At the endpoint's max_workers, a group's need for hot capacity comes before what another group
  // has beyond its own target: its cold instances, drained idle workers, idle workers its ready
  // fleet covers its target without. They would go in this plan's scale-down or a later one anyway,
  // and the room they free would be rented into then: making room now keeps the plan final. (The
  // slot is the short group's: its requests are drawn to it whatever the others hold.)
  const spare = (v: InstanceView, g: number) => {
    if (v.groupId === g || retired(v) || !satisfied(v.groupId)) return false;
    if (isCold(v)) return true;
    if (v.state !== "ready" || v.load > 0) return false;
    if (isDrained(v)) return true;
    const st = state.get(v.groupId)!;
    const perf = v.perf ?? 0;
    return readyOf(v.groupId) - perf >= st.target - EPS && st.hot - 1 >= (st.target > EPS ? 1 : 0) && endpointHot() - 1 >= minHot;
  };
  const spareRank = (v: InstanceView) => (isCold(v) ? 0 : isDrained(v) ? 1 : 2);
  const victimFor = (g: number) => {
    const own = (groupCount.get(g) ?? 0) >= groupMax(g);
    return (
      evictable.find((v) => (own ? v.groupId === g : true) && live.includes(v)) ??
      (own ? undefined : live.filter((v) => spare(v, g)).sort((a, b) => spareRank(a) - spareRank(b) || compareWorstFirst(priced(a), priced(b)))[0])
    );
  };
  // An offer on a machine that holds one of our instances is that instance's GPU: renting it would
  // take the GPU a restart needs (Vast answers the rental no_such_ask once the restart took it).
  const ourMachines = new Set(input.instances.flatMap((v) => (v.machineId == null ? [] : [v.machineId])));
  const books = new Map(input.groups.map((g) => [g.id, g.perf]));
  const taken = new Set<number>();
  const scaleUp = (ids: readonly number[]) => {
    const want = (g: number) => ids.includes(g) && !satisfied(g);
    for (const v of live.filter((x) => isDrained(x) && !retired(x)).sort((a, b) => compareBestFirst(priced(a), priced(b)))) {
      if (!want(v.groupId)) continue;
      actions.push({ kind: "undrain", instanceId: v.id, groupId: v.groupId, reason: `capacity wanted again: ${need(v.groupId)}` });
      v.drained = false;
      addHot(v.groupId, v.perf);
    }
    for (const v of live.filter(canRestart).sort((a, b) => compareBestFirst(priced(a), priced(b)))) {
      if (!want(v.groupId) || billed + v.dph > cap + EPS) continue;
      actions.push({ kind: "start", instanceId: v.id, groupId: v.groupId, reason: `scale up: ${need(v.groupId)}` });
      v.state = "starting";
      v.since = now;
      billed += v.dph;
      addHot(v.groupId, estimate(v));
    }
    if (!ids.some(want)) return;
    if (!input.offers) {
      for (const g of ids) if (want(g) && (!blocked(g) || victimFor(g)) && !needsOffers.includes(g)) needsOffers.push(g);
      return;
    }
    const usable = new Map(
      [...input.offers].filter(([g]) => ids.includes(g)).map(([g, list]) => [g, list.filter((o) => o.machine_id == null || !ourMachines.has(o.machine_id))] as const),
    );
    // Each group's offers, best first (valued with its own book). The group furthest behind its
    // target rents next, so groups share fairly what the endpoint's limits leave; among equals, the
    // better offer. With one group: its offers in order.
    const queues = new Map<number, RankedOffer[]>();
    for (const o of rankOffers(usable, books)) (queues.get(o.groupId) ?? queues.set(o.groupId, []).get(o.groupId)!).push(o);
    const behind = (g: number) => {
      const st = state.get(g)!;
      return st.target > EPS ? (st.target - st.known) / st.target : 1;
    };
    for (;;) {
      const wanting = ids.filter((g) => want(g) && (queues.get(g)?.length ?? 0) > 0);
      if (wanting.length === 0) break;
      const g = wanting.sort((a, b) => behind(b) - behind(a) || compareBestFirst(queues.get(a)![0]!, queues.get(b)![0]!))[0]!;
      const o = queues.get(g)!.shift()!;
      if (taken.has(o.offer.id) || billed + o.dph > cap + EPS) continue;
      if (blocked(o.groupId)) {
        const victim = victimFor(o.groupId);
        if (!victim) {
          queues.set(g, []);
          continue;
        }
        if (serving(victim)) {
          const st = state.get(victim.groupId)!;
          st.hot--;
          st.known -= victim.perf ?? 0;
        }
        drop(victim, victim.groupId === o.groupId || victim.startFailures > 0 ? "making room for a rental: it could not restart (GPU taken)" : `making room at max_workers for group '${groups.get(o.groupId)!.name}', which needs capacity: beyond its own group's target`);
        if (blocked(o.groupId)) continue;
      }
      const reason = `scale up: ${need(o.groupId)}; ${o.offer.gpu_name} at $${o.dph}/h${o.perf === null ? " (perf unknown: probe)" : `, ~${f1(o.perf)} u/s`}`;
      actions.push({ kind: "create", groupId: o.groupId, offerId: o.offer.id, gpuName: o.offer.gpu_name, dph: o.dph, perf: o.perf, reason });
      taken.add(o.offer.id);
      total++;
      groupCount.set(o.groupId, (groupCount.get(o.groupId) ?? 0) + 1);
      billed += o.dph;
      addHot(o.groupId, o.perf);
    }
  };
  const shortOf = (g: number) => (satisfied(g) ? 0 : Math.max(0, state.get(g)!.target - state.get(g)!.known));
  if (mode === "active") {
    // Keep one, first: with no serving worker anywhere, the fastest one in any live group (put back,
    // else restarted) serves the endpoint before any group rents.
    if (keepOne && endpointHot() === 0) {
      const fast =
        live.filter((v) => isDrained(v) && !retired(v)).sort((a, b) => compareBestFirst(priced(a), priced(b)))[0] ??
        live.filter((v) => canRestart(v) && billed + v.dph <= cap + EPS).sort((a, b) => compareBestFirst(priced(a), priced(b)))[0];
      if (fast && isDrained(fast)) {
        actions.push({ kind: "undrain", instanceId: fast.id, groupId: fast.groupId, reason: `capacity wanted again: keep one serving worker (${need(fast.groupId)})` });
        fast.drained = false;
        addHot(fast.groupId, fast.perf);
      } else if (fast) {
        actions.push({ kind: "start", instanceId: fast.id, groupId: fast.groupId, reason: `scale up: keep one serving worker (${need(fast.groupId)})` });
        fast.state = "starting";
        fast.since = now;
        billed += fast.dph;
        addHot(fast.groupId, estimate(fast));
      }
    }
    scaleUp(primaries.map((g) => g.id));
    // What a primary group could not get (its max_workers, no offers) spills, as the router spills
    // it: to the other primary groups, then to the overflow groups. At the endpoint's max_workers
    // no group can add an instance, and the slots went where the groups' own targets put them.
    let spill = primaries.length === 0 ? split : total >= params.max_workers ? 0 : primaries.reduce((sum, g) => sum + shortOf(g.id), 0);
    const takers = primaries.filter((g) => satisfied(g.id));
    if (spill > EPS && takers.length > 0) {
      const tw = shareWeights(takers);
      const before = new Map(takers.map((g) => [g.id, state.get(g.id)!.target]));
      for (const g of takers) {
        const st = state.get(g.id)!;
        st.target += spill * tw.get(g.id)!;
        st.why += ` + ${f1(spill * tw.get(g.id)!)} u/s the other primary groups cannot take`;
      }
      scaleUp(takers.map((g) => g.id));
      let took = 0;
      for (const g of takers) {
        const extra = spill * tw.get(g.id)!;
        took += satisfied(g.id) ? extra : Math.min(extra, Math.max(0, state.get(g.id)!.known - before.get(g.id)!));
      }
      spill = Math.max(0, spill - took);
    }
    if (spill > EPS && overflows.length > 0) {
      const ow = shareWeights(overflows);
      for (const g of overflows) {
        const st = state.get(g.id)!;
        const part = spill * ow.get(g.id)!;
        if (part > st.target) {
          st.target = part;
          st.why = `${f1(part)} u/s the primary groups cannot take`;
        }
      }
    }
    scaleUp(overflows.map((g) => g.id));
  }

  // 5. Scale down (not while suspended), group by group: drained workers once idle (the target did
  // not want them back); then idle ready workers, worst perf/$ first, while the group's ready fleet
  // without them still covers its target and the endpoint's ready fleet the endpoint's (a group
  // whose share went to a group still booting keeps serving until that one is ready); then, when
  // the group restarts and rents nothing, busy ones the same way, drained rather than released.
  // Stop at the first that cannot go, so more load never releases more.
  const scaledUp = new Set(actions.flatMap((a) => (a.kind === "create" || a.kind === "start" ? [a.groupId] : [])));
  if (mode === "stopped") {
    for (const v of live.filter(isHot)) {
      if (v.state === "ready") release(v, "endpoint stopped");
      else destroy(v, "endpoint stopped");
    }
  } else if (mode === "suspended") {
    // No scaling either way: a worker drained before the suspension serves again.
    for (const v of live.filter((x) => isDrained(x) && !retired(x))) {
      actions.push({ kind: "undrain", instanceId: v.id, groupId: v.groupId, reason: "endpoint suspended: its fleet serves as it is" });
      v.drained = false;
    }
  } else {
    let hotLeft = endpointHot();
    let readyLeft = endpointReady();
    for (const v of live.filter((x) => isDrained(x) && x.load <= 0)) release(v, "drained and idle");
    for (const g of liveGroups) {
      const st = state.get(g.id)!;
      let readyKnown = readyOf(g.id);
      const minCount = st.target > EPS ? 1 : 0;
      const covers = (perf: number) =>
        readyKnown - perf >= st.target - EPS && readyLeft - perf >= split - EPS && st.hot - 1 >= minCount && hotLeft - 1 >= minHot;
      const goes = (perf: number) => {
        readyKnown -= perf;
        readyLeft -= perf;
        st.hot--;
        hotLeft--;
      };
      const left = () => (single ? `${f1(readyKnown)} u/s` : `group '${g.name}' ${f1(readyKnown)} u/s`);
      // After a worker was put back (it may cover more than was missing), an idle one may now be surplus.
      const idle = live.filter((v) => v.groupId === g.id && v.state === "ready" && v.load <= 0).sort((a, b) => compareWorstFirst(priced(a), priced(b)));
      let cannot = false;
      for (const v of idle) {
        if (!covers(v.perf ?? 0)) {
          cannot = true;
          break;
        }
        goes(v.perf ?? 0);
        // Put back earlier in this plan, then made surplus by a larger one put back after it: it stays drained.
        const undrained = actions.findIndex((a) => a.kind === "undrain" && a.instanceId === v.id);
        if (undrained >= 0) actions.splice(undrained, 1);
        release(v, mode === "idle" ? `idle for ${f1(idleS ?? Infinity)} s (inactivity_timeout ${params.inactivity_timeout} s)` : `scale down: ${left()} left covers ${f1(st.target)}`);
      }
      // A group that restarts or rents has less ready capacity than its target, so it drains nothing;
      // after a worker was put back, a busy one with worse perf per dollar may now be surplus.
      if (!s.drain || mode !== "active" || cannot || scaledUp.has(g.id)) continue;
      const busy = live
        .filter((v) => v.groupId === g.id && v.state === "ready" && !isDrained(v) && v.load > 0)
        // Worst perf per dollar first; among equals, the least loaded (it is idle soonest).
        .sort((a, b) => (perfPerDollar(priced(a)) ?? 0) - (perfPerDollar(priced(b)) ?? 0) || a.load - b.load || compareWorstFirst(priced(a), priced(b)));
      for (const v of busy) {
        if (!covers(v.perf ?? 0)) break;
        goes(v.perf ?? 0);
        v.drained = true;
        // Put back earlier in this plan, then made surplus by a better one put back after it: it stays drained.
        const undrained = actions.findIndex((a) => a.kind === "undrain" && a.instanceId === v.id);
        if (undrained >= 0) actions.splice(undrained, 1);
        else actions.push({ kind: "drain", instanceId: v.id, groupId: v.groupId, reason: `scale down: ${left()} without it covers ${f1(st.target)}; released once idle` });
      }
    }
  }

  // 6. The cold tier: stopped-but-loaded instances, best perf/$ first, kept while the loaded fleet
  // (hot + kept cold) has fewer than cold_workers instances (endpoint, or the group's own) or less
  // capacity than min_cold_load (endpoint) or cold_mult × the group's target. Released hot workers
  // that fit are stopped, the rest destroyed; a deleted group's are destroyed.
  // Suspended: no target is computed, so the tier is sized on the ready fleet the plan leaves.
  const walkTarget = (g: number) =>
    mode === "suspended" ? live.reduce((sum, v) => sum + (v.groupId === g && v.state === "ready" ? (v.perf ?? 0) : 0), 0) : (state.get(g)?.target ?? 0);
  let loadedCount = 0;
  let loadedCap = 0;
  const groupLoaded = new Map<number, { count: number; cap: number }>();
  const addLoaded = (g: number, perf: number | null) => {
    loadedCount++;
    loadedCap += perf ?? 0;
    const gl = groupLoaded.get(g) ?? { count: 0, cap: 0 };
    groupLoaded.set(g, { count: gl.count + 1, cap: gl.cap + (perf ?? 0) });
  };
  for (const v of live.filter((x) => isHot(x) && !retired(x))) addLoaded(v.groupId, estimate(v));
  for (const a of actions) if (a.kind === "create") addLoaded(a.groupId, a.perf);
  const unmet = mode === "active" && liveGroups.some((g) => !satisfied(g.id));
  const wasReleased = new Set(released.map((v) => v.id));
  const candidates = [...live.filter(isCold), ...released].sort((a, b) => compareBestFirst(priced(a), priced(b)));
  for (const v of candidates) {
    const groupCold = groups.get(v.groupId)?.cold_workers ?? null;
    const gl = groupLoaded.get(v.groupId) ?? { count: 0, cap: 0 };
    const coldCapacity = params.cold_mult * walkTarget(v.groupId);
    // While a group's target is still unmet (no room, no budget or no offers), every loaded instance
    // is kept: the cheapest capacity to bring back, and destroying one would only free room that
    // the next tick then fills with a fresh rental.
    const keep =
      !retired(v) &&
      (unmet ||
        loadedCount < params.cold_workers ||
        (groupCold !== null && gl.count < groupCold) ||
        gl.cap < coldCapacity - EPS ||
        loadedCap < params.min_cold_load - EPS);
    if (keep) {
      addLoaded(v.groupId, estimate(v));
      if (wasReleased.has(v.id)) actions.push({ kind: "stop", instanceId: v.id, groupId: v.groupId, reason: `${reasons.get(v.id)}; kept cold` });
    } else {
      const why = retired(v)
        ? `worker group '${groups.get(v.groupId)!.name}' deleted`
        : `beyond the cold tier (cold_workers ${groupCold ?? params.cold_workers}, cold capacity ${f1(Math.max(coldCapacity, params.min_cold_load))} u/s)`;
      actions.push({ kind: "destroy", instanceId: v.id, groupId: v.groupId, reason: wasReleased.has(v.id) ? `${reasons.get(v.id)}; ${why}` : why });
    }
  }
  // A worker drained or put back earlier in the plan, then released or destroyed: one action is enough.
  const gone = new Set(actions.flatMap((a) => (a.kind === "stop" || a.kind === "destroy" ? [a.instanceId] : [])));
  for (let i = actions.length - 1; i >= 0; i--) {
    const a = actions[i]!;
    if ((a.kind === "drain" || a.kind === "undrain") && gone.has(a.instanceId)) actions.splice(i, 1);
  }
  summary.groups = input.groups.map((g) => {
    const st = state.get(g.id)!;
    return { id: g.id, name: g.name, role: roleOf(g), deleted: g.deleted === true, target: st.target, capacity: st.known, why: st.why };
  });
  return plan();
}

/** Convenience for the simulator and tests: plan, then the fleet as the plan leaves it. */
export function planAndApply(input: EndpointPlanInput, newId: (i: number) => string) {
  const plan = planEndpoint(input);
  const world = applyActions(
    { instances: [...input.instances], offers: new Map([...(input.offers ?? new Map<number, VastOffer[]>())].map(([g, o]) => [g, [...o]])) },
    plan.actions,
    input.now,
    newId,
  );
  return { plan, world };
}
