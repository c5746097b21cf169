// The scaling decision for one endpoint, pure: from its parameters, its load picture, its fleet and
// the offers on sale to a plan of actions (create, start, stop, destroy), each with a reason.
// The scaler Worker runs it every minute and on "needs capacity now"; the autoscaling simulator runs
// the very same function. Definitions and formulas: docs/scaler.md. `planEndpoint` reads as its
// steps; each is a module of core/scaling/, over one working state (core/scaling/plan-state.ts).
import type { EndpointParams, GroupRole } from "./endpoint.ts";
import { applyActions, type Action, type InstanceView } from "./fleet.ts";
import { DEFAULT_DEADLINE, quantile, type DeadlineBounds } from "./load-deadline.ts";
import { DEFAULT_WINDOWS, forecastLoad, type ForecastWindows, type LoadForecast } from "./load-forecast.ts";
import type { PerfBook } from "./placement.ts";
import { walkColdTier } from "./scaling/cold-tier.ts";
import { GroupShares } from "./scaling/group-shares.ts";
import { enforceHardLimits } from "./scaling/hard-limits.ts";
import { PlanState } from "./scaling/plan-state.ts";
import { repair, retireDeletedGroups } from "./scaling/repairs.ts";
import { scaleDown } from "./scaling/scale-down.ts";
import { scaleUp } from "./scaling/scale-up.ts";
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
  const target = mode === "active" ? targetOf(forecast, params, s.headroom) : 0;
  // Each step below mutates this working state, so later steps see earlier decisions.
  const plan = new PlanState(input, { settings: s, mode, forecast, idleS, target });

  if (mode === "deleted") {
    for (const v of [...plan.live]) plan.destroy(v, "endpoint deleted");
    return plan.result();
  }
  // 1. Repairs, whatever the load, and what deleted groups still hold.
  repair(plan);
  retireDeletedGroups(plan);
  // 2. Hard limits, whatever the load: max_workers (group, then endpoint), then max_hourly_cost.
  enforceHardLimits(plan);
  // 3. Each group's part of the target.
  const shares = new GroupShares(plan);
  // 4. Scale up (active only): put back, restart, rent; then spill what a group could not get.
  if (mode === "active") scaleUp(plan, shares);
  // 5. Scale down (or, stopped, release everything hot; suspended, nothing).
  scaleDown(plan, shares);
  // 6. The cold tier: which stopped and released instances stay loaded.
  walkColdTier(plan, shares);
  plan.dropSupersededDrains();
  plan.summary.groups = shares.targets();
  return plan.result();
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
