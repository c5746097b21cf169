// The working state one endpoint's plan is decided over. Each step mutates it as it decides (the
// fleet's working copies, the actions so far, the counts the hard limits are held to), so later
// steps see earlier decisions: an instance a hard limit destroyed is not released again as surplus.
// Only `planEndpoint` creates one; the plan it returns is the only thing that leaves it.
import type { EndpointParams } from "../endpoint.ts";
import { isBilled, isCold, isDrained, isHot, type Action, type InstanceView } from "../fleet.ts";
import type { LoadForecast } from "../load-forecast.ts";
import { compareWorstFirst, estimatePerf, type Priced } from "../placement.ts";
import type { EndpointPlanInput, GroupPolicy, Plan, PlanMode, PlanSummary, ScalingSettings } from "../scaling-policy.ts";

/** Slack for comparing capacities and dollars summed in different orders. */
export const EPS = 1e-9;
/** Numbers in reasons: one decimal. */
export const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : String(x));

/** Out-of-limit release order: cold first, then not-yet-serving, then idle, then busy (drained first within each). */
function limitRank(v: InstanceView): number {
  if (isCold(v)) return 0;
  if (v.state !== "ready") return 1;
  return (v.load > 0 ? 3 : 2) + (isDrained(v) ? 0 : 0.5);
}

/** What the plan knows before it decides anything: derived from the input alone. */
export interface Situation {
  settings: ScalingSettings;
  mode: PlanMode;
  forecast: LoadForecast;
  idleS: number | null;
  /** Hot capacity the plan aims for, units/s (0 unless active). */
  target: number;
}

export class PlanState {
  readonly input: EndpointPlanInput;
  readonly settings: ScalingSettings;
  readonly now: number;
  readonly params: EndpointParams;
  readonly groups: ReadonlyMap<number, GroupPolicy>;
  readonly mode: PlanMode;
  readonly forecast: LoadForecast;
  readonly idleS: number | null;
  readonly target: number;
  /**
   * Never to zero before inactivity_timeout: an endpoint that has seen requests keeps one hot worker
   * (replacing it if it breaks) until it is idle that long. Depends on the load only, not on the
   * fleet, so a plan applied once leaves the next plan nothing to do.
   */
  readonly keepOne: boolean;
  /** Hot workers the endpoint keeps while it has a target or must keep one. */
  readonly minHot: number;
  /** max_hourly_cost, Infinity without one. */
  readonly cap: number;
  readonly summary: PlanSummary;
  readonly actions: Action[] = [];
  /** Groups it would create in but has no offers for yet. */
  readonly needsOffers: number[] = [];

  /** The instances not being destroyed, as this plan leaves them so far. */
  live: InstanceView[];
  /** Instances already being destroyed: still billed and counted against the limits. */
  readonly leaving: readonly InstanceView[];
  /** Instances per group, leaving ones included, kept true by `destroy` and by rentals. */
  readonly groupCount = new Map<number, number>();
  /** Instances, leaving ones included: what the endpoint's max_workers counts. */
  total: number;
  /** Billed $/h: summed afresh after each destroy; steps add what they start or rent. */
  billed: number;
  /** Hot instances taken out of service by this plan (and why): the cold walk decides stop or destroy. */
  readonly released: InstanceView[] = [];
  readonly reasons = new Map<string, string>();

  constructor(input: EndpointPlanInput, situation: Situation) {
    this.input = input;
    this.settings = situation.settings;
    this.now = input.now;
    this.params = input.params;
    this.groups = new Map(input.groups.map((g) => [g.id, g]));
    this.mode = situation.mode;
    this.forecast = situation.forecast;
    this.idleS = situation.idleS;
    this.target = situation.target;
    this.keepOne = this.mode === "active" && this.idleS !== null;
    this.minHot = this.target > EPS || this.keepOne ? 1 : 0;
    this.cap = this.params.max_hourly_cost ?? Infinity;
    // Working copies: the plan mutates them as it decides.
    this.live = input.instances.filter((v) => v.state !== "destroying").map((v) => ({ ...v }));
    this.leaving = input.instances.filter((v) => v.state === "destroying");
    this.summary = {
      mode: this.mode,
      forecast: this.forecast,
      target: this.target,
      readyCapacity: this.live.reduce((sum, v) => sum + (v.state === "ready" ? (v.perf ?? 0) : 0), 0),
      hot: this.live.filter(isHot).length,
      drained: this.live.filter(isDrained).length,
      cold: this.live.filter(isCold).length,
      billedDph: this.billedNow(),
      idleS: this.idleS,
      groups: [],
    };
    for (const v of [...this.live, ...this.leaving]) this.groupCount.set(v.groupId, (this.groupCount.get(v.groupId) ?? 0) + 1);
    this.total = this.live.length + this.leaving.length;
    this.billed = this.billedNow();
  }

  result(): Plan {
    return { endpoint: this.input.endpoint, actions: this.actions, needsOffers: this.needsOffers, summary: this.summary };
  }

  /** Instances of a deleted group: drained by the router, released here, never replaced. */
  retired(v: InstanceView): boolean {
    return this.groups.get(v.groupId)?.deleted === true;
  }

  /** Hot, routed to, and in a live group: it serves (or will once ready). */
  serving(v: InstanceView): boolean {
    return isHot(v) && !isDrained(v) && !this.retired(v);
  }

  /** Its capacity: measured, else its group's book for its GPU; null if unknown. */
  estimate(v: InstanceView): number | null {
    return v.state === "ready" ? v.perf : (v.perf ?? estimatePerf(this.groups.get(v.groupId)?.perf, v.gpuName));
  }

  priced(v: InstanceView): Priced {
    return { key: v.id, dph: v.dph, perf: this.estimate(v) };
  }

  /** Ready capacity serving in group `g` (null: the whole endpoint). */
  readyOf(g: number | null): number {
    return this.live.reduce((sum, v) => sum + ((g === null || v.groupId === g) && this.serving(v) && v.state === "ready" ? (v.perf ?? 0) : 0), 0);
  }

  groupMax(g: number): number {
    return this.groups.get(g)?.max_workers ?? this.params.max_workers;
  }

  /** The order instances go in when over a hard limit. */
  readonly byLimitRank = (a: InstanceView, b: InstanceView): number => limitRank(a) - limitRank(b) || compareWorstFirst(this.priced(a), this.priced(b));

  /**
   * Summed afresh, in the order the next plan sums it: a running difference can land on the other
   * side of the cap by a rounding error, and the next plan would then release one more.
   */
  billedNow(): number {
    return [...this.live, ...this.leaving].reduce((sum, v) => sum + (isBilled(v) ? v.dph : 0), 0);
  }

  destroy(v: InstanceView, reason: string): void {
    this.actions.push({ kind: "destroy", instanceId: v.id, groupId: v.groupId, reason });
    this.live = this.live.filter((x) => x !== v);
    this.total--;
    this.groupCount.set(v.groupId, (this.groupCount.get(v.groupId) ?? 1) - 1);
    this.billed = this.billedNow();
  }

  /** Out of service; the cold walk stops or destroys it, adding `why` to its own reason. */
  release(v: InstanceView, why: string): void {
    this.released.push(v);
    this.live = this.live.filter((x) => x !== v);
    this.reasons.set(v.id, why);
  }

  /** A worker drained or put back earlier in the plan, then released or destroyed: one action is enough. */
  dropSupersededDrains(): void {
    const gone = new Set(this.actions.flatMap((a) => (a.kind === "stop" || a.kind === "destroy" ? [a.instanceId] : [])));
    for (let i = this.actions.length - 1; i >= 0; i--) {
      const a = this.actions[i]!;
      if ((a.kind === "drain" || a.kind === "undrain") && gone.has(a.instanceId)) this.actions.splice(i, 1);
    }
  }
}
