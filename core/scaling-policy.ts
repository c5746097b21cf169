// The scaling decision for one endpoint, pure: from its parameters, its load picture, its fleet and
// the offers on sale to a plan of actions (create, start, stop, destroy), each with a reason.
// The scaler Worker runs it every minute and on "needs capacity now"; the autoscaling simulator runs
// the very same function. Definitions and formulas: docs/scaler.md.
import type { EndpointParams } from "./endpoint.ts";
import { applyActions, isBilled, isCold, isDrained, isHot, type Action, type InstanceView } from "./fleet.ts";
import { DEFAULT_DEADLINE, loadDeadlineS, quantile, type DeadlineBounds } from "./load-deadline.ts";
import { DEFAULT_WINDOWS, forecastLoad, type ForecastWindows, type LoadForecast } from "./load-forecast.ts";
import { compareBestFirst, compareWorstFirst, estimatePerf, perfPerDollar, rankOffers, type PerfBook, type Priced } from "./placement.ts";
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
  let billed = [...live, ...leaving].reduce((sum, v) => sum + (isBilled(v) ? v.dph : 0), 0);
  const cap = params.max_hourly_cost ?? Infinity;
  const byLimitRank = (a: InstanceView, b: InstanceView) => limitRank(a) - limitRank(b) || compareWorstFirst(priced(a), priced(b));
  const drop = (v: InstanceView, reason: string) => {
    destroy(v, reason);
    total--;
    groupCount.set(v.groupId, (groupCount.get(v.groupId) ?? 1) - 1);
    if (isBilled(v)) billed -= v.dph;
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
  }

  // 3. Scale up (active only): put drained workers back (instant), restart cold instances (seconds),
  // then rent new ones (minutes). Drained workers serve nothing: they count only once put back.
  const external = input.external ?? { ready: 0, capacity: 0 };
  const serving = (v: InstanceView) => isHot(v) && !isDrained(v);
  let hotCount = live.filter(serving).length + external.ready;
  let known = external.capacity;
  let probe = false;
  for (const v of live.filter(serving)) {
    const e = estimate(v);
    if (e === null) probe = true;
    else known += e;
  }
  const satisfied = () => (hotCount > 0 ? target <= EPS || probe || known >= target - EPS : target <= EPS && !keepOne);
  const addHot = (perf: number | null) => {
    hotCount++;
    if (perf === null) probe = true;
    else known += perf;
  };
  const need = () => `need ${f1(target)} u/s (predicted ${f1(forecast.predicted)}, min_load ${params.min_load}, target_util ${params.target_util}), have ${f1(known)}${probe ? " + unmeasured" : ""}`;
  if (mode === "active") {
    const canRestart = (v: InstanceView) =>
      v.state === "stopped" && v.startFailures < s.maxStartFailures && (v.lastStartFailureAt === null || now - v.lastStartFailureAt >= s.restartBackoffS * 1000);
    const restartable = live.filter(canRestart).sort((a, b) => compareBestFirst(priced(a), priced(b)));
    // Stopped instances whose restart failed (the GPU was taken) are the first to make room for a rental.
    const evictable = live
      .filter((v) => v.state === "stopped" && v.startFailures > 0 && !canRestart(v))
      .sort((a, b) => compareWorstFirst(priced(a), priced(b)));
    const blocked = (g: number) => total >= params.max_workers || (groupCount.get(g) ?? 0) >= groupMax(g);
    const victimFor = (g: number) =>
      evictable.find((v) => ((groupCount.get(g) ?? 0) >= groupMax(g) ? v.groupId === g : true) && live.includes(v));
    for (const v of live.filter(isDrained).sort((a, b) => compareBestFirst(priced(a), priced(b)))) {
      if (satisfied()) break;
      actions.push({ kind: "undrain", instanceId: v.id, groupId: v.groupId, reason: `capacity wanted again: ${need()}` });
      v.drained = false;
      addHot(v.perf);
    }
    for (const v of restartable) {
      if (satisfied()) break;
      if (billed + v.dph > cap + EPS) continue;
      actions.push({ kind: "start", instanceId: v.id, groupId: v.groupId, reason: `scale up: ${need()}` });
      v.state = "starting";
      v.since = now;
      billed += v.dph;
      addHot(estimate(v));
    }
    if (!satisfied()) {
      if (!input.offers) {
        for (const g of input.groups) if (!blocked(g.id) || victimFor(g.id)) needsOffers.push(g.id);
      } else {
        const usable = new Map([...input.offers].filter(([g]) => groups.has(g)));
        const books = new Map(input.groups.map((g) => [g.id, g.perf]));
        const taken = new Set<number>();
        for (const o of rankOffers(usable, books)) {
          if (satisfied()) break;
          if (taken.has(o.offer.id) || billed + o.dph > cap + EPS) continue;
          if (blocked(o.groupId)) {
            const victim = victimFor(o.groupId);
            if (!victim) continue;
            drop(victim, "making room for a rental: it could not restart (GPU taken)");
            if (blocked(o.groupId)) continue;
          }
          const reason = `scale up: ${need()}; ${o.offer.gpu_name} at $${o.dph}/h${o.perf === null ? " (perf unknown: probe)" : `, ~${f1(o.perf)} u/s`}`;
          actions.push({ kind: "create", groupId: o.groupId, offerId: o.offer.id, gpuName: o.offer.gpu_name, dph: o.dph, perf: o.perf, reason });
          taken.add(o.offer.id);
          total++;
          groupCount.set(o.groupId, (groupCount.get(o.groupId) ?? 0) + 1);
          billed += o.dph;
          addHot(o.perf);
        }
      }
    }
  }

  // 4. Scale down (not while suspended): drained workers once idle (the target did not want them
  // back); then idle ready workers, worst perf/$ first, while the ready fleet without them still
  // covers the target; then, active and wanting nothing more, busy ones the same way, drained
  // rather than released. Stop at the first that cannot go, so more load never releases more.
  if (mode === "stopped") {
    for (const v of live.filter(isHot)) {
      if (v.state === "ready") release(v, "endpoint stopped");
      else destroy(v, "endpoint stopped");
    }
  } else if (mode === "suspended") {
    // No scaling either way: a worker drained before the suspension serves again.
    for (const v of live.filter(isDrained)) {
      actions.push({ kind: "undrain", instanceId: v.id, groupId: v.groupId, reason: "endpoint suspended: its fleet serves as it is" });
      v.drained = false;
    }
  } else {
    let readyKnown = external.capacity + live.reduce((sum, v) => sum + (serving(v) && v.state === "ready" ? (v.perf ?? 0) : 0), 0);
    const minCount = target > EPS || keepOne ? 1 : 0;
    for (const v of live.filter((x) => isDrained(x) && x.load <= 0)) release(v, "drained and idle");
    // After a worker was put back (it may cover more than was missing), an idle one may now be surplus.
    const idle = live.filter((v) => v.state === "ready" && v.load <= 0).sort((a, b) => compareWorstFirst(priced(a), priced(b)));
    let cannot = false;
    for (const v of idle) {
      const perf = v.perf ?? 0;
      if (readyKnown - perf < target - EPS || hotCount - 1 < minCount) {
        cannot = true;
        break;
      }
      readyKnown -= perf;
      hotCount--;
      // Put back earlier in this plan, then made surplus by a larger one put back after it: it stays drained.
      const undrained = actions.findIndex((a) => a.kind === "undrain" && a.instanceId === v.id);
      if (undrained >= 0) actions.splice(undrained, 1);
      release(v, mode === "idle" ? `idle for ${f1(idleS ?? Infinity)} s (inactivity_timeout ${params.inactivity_timeout} s)` : `scale down: ${f1(readyKnown)} u/s left covers ${f1(target)}`);
    }
    // A plan that restarts or rents has less ready capacity than the target, so it drains nothing;
    // after a worker was put back, a busy one with worse perf per dollar may now be surplus.
    if (s.drain && mode === "active" && !cannot) {
      const busy = live
        .filter((v) => v.state === "ready" && !isDrained(v) && v.load > 0)
        // Worst perf per dollar first; among equals, the least loaded (it is idle soonest).
        .sort((a, b) => (perfPerDollar(priced(a)) ?? 0) - (perfPerDollar(priced(b)) ?? 0) || a.load - b.load || compareWorstFirst(priced(a), priced(b)));
      for (const v of busy) {
        const perf = v.perf ?? 0;
        if (readyKnown - perf < target - EPS || hotCount - 1 < minCount) break;
        readyKnown -= perf;
        hotCount--;
        v.drained = true;
        // Put back earlier in this plan, then made surplus by a better one put back after it: it stays drained.
        const undrained = actions.findIndex((a) => a.kind === "undrain" && a.instanceId === v.id);
        if (undrained >= 0) actions.splice(undrained, 1);
        else actions.push({ kind: "drain", instanceId: v.id, groupId: v.groupId, reason: `scale down: ${f1(readyKnown)} u/s without it covers ${f1(target)}; released once idle` });
      }
    }
  }

  // 5. The cold tier: stopped-but-loaded instances, best perf/$ first, kept while the loaded fleet
  // (hot + kept cold) has fewer than cold_workers instances (endpoint or group) or less capacity than
  // max(cold_mult × target, min_cold_load). Released hot workers that fit are stopped, the rest destroyed.
  // Suspended: no target is computed, so the tier is sized on the ready fleet the plan leaves.
  const walkTarget = mode === "suspended" ? live.reduce((sum, v) => sum + (v.state === "ready" ? (v.perf ?? 0) : 0), 0) : target;
  const coldCapacity = Math.max(params.cold_mult * walkTarget, params.min_cold_load);
  let loadedCount = 0;
  let loadedCap = 0;
  const groupLoaded = new Map<number, number>();
  for (const v of live.filter(isHot)) {
    loadedCount++;
    loadedCap += estimate(v) ?? 0;
    groupLoaded.set(v.groupId, (groupLoaded.get(v.groupId) ?? 0) + 1);
  }
  for (const a of actions) if (a.kind === "create") {
    loadedCount++;
    loadedCap += a.perf ?? 0;
    groupLoaded.set(a.groupId, (groupLoaded.get(a.groupId) ?? 0) + 1);
  }
  // While the target is still unmet (no room, no budget or no offers), every loaded instance is
  // kept: it is the cheapest capacity to bring back, and destroying it would only free room that
  // the next tick then fills with a fresh rental.
  const unmet = mode === "active" && !satisfied();
  const wasReleased = new Set(released.map((v) => v.id));
  const candidates = [...live.filter(isCold), ...released].sort((a, b) => compareBestFirst(priced(a), priced(b)));
  for (const v of candidates) {
    const groupCold = groups.get(v.groupId)?.cold_workers ?? null;
    const keep =
      unmet ||
      loadedCount < params.cold_workers || (groupCold !== null && (groupLoaded.get(v.groupId) ?? 0) < groupCold) || loadedCap < coldCapacity - EPS;
    if (keep) {
      loadedCount++;
      loadedCap += estimate(v) ?? 0;
      groupLoaded.set(v.groupId, (groupLoaded.get(v.groupId) ?? 0) + 1);
      if (wasReleased.has(v.id)) actions.push({ kind: "stop", instanceId: v.id, groupId: v.groupId, reason: `${reasons.get(v.id)}; kept cold` });
    } else {
      const why = `beyond the cold tier (cold_workers ${groupCold ?? params.cold_workers}, cold capacity ${f1(coldCapacity)} u/s)`;
      actions.push({ kind: "destroy", instanceId: v.id, groupId: v.groupId, reason: wasReleased.has(v.id) ? `${reasons.get(v.id)}; ${why}` : why });
    }
  }
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
