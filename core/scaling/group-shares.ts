// Step 3 of a plan: each worker group's part of the endpoint's target, and the hot capacity each has
// towards it as the plan goes on. The primary groups share the endpoint's target (less what boxes
// attached by hand cover) by traffic_share, each at least what its own recent demand asks for (a
// group whose share was just lowered shrinks over the long window, as the endpoint does); overflow
// groups are sized for the overflow they served, and, by the scale-up's spill, for what the primary
// groups cannot take. The split itself: group-targets.ts.
import type { GroupRole } from "../endpoint.ts";
import { groupHistory, shareWeights } from "../group-targets.ts";
import { forecastLoad } from "../load-forecast.ts";
import type { GroupPolicy, GroupTarget } from "../scaling-policy.ts";
import { EPS, f1, type PlanState } from "./plan-state.ts";

export const roleOf = (g: GroupPolicy): GroupRole => g.role ?? "primary";

/** One group's target and why, and what it has (or has on its way) towards it. */
export interface GroupState {
  target: number;
  hot: number;
  /** Capacity of its hot workers whose perf is known or estimated. */
  known: number;
  /** It has a hot worker of unknown perf: that one's benchmark decides. */
  probe: boolean;
  why: string;
}

/**
 * What a group's own history asks for: a primary group its sustained demand (long window, with
 * target_util's headroom), so one whose share was lowered shrinks over the long window as the
 * endpoint does (bursts and backlog are in the endpoint's target, and primary groups take each
 * other's spills); an overflow group the overflow it served, sustained or in the short window.
 */
function ownTarget(plan: PlanState, g: GroupPolicy): number {
  const { params } = plan;
  const history = groupHistory(plan.input.load.buckets, g.id, roleOf(g));
  if (!history) return 0;
  const own = forecastLoad(history, 0, plan.now, { targetQueueTimeS: params.target_queue_time, windows: { ...plan.settings.windows, burstS: 0 } });
  return roleOf(g) === "primary" ? own.long / params.target_util : Math.max(own.long / params.target_util, own.short);
}

export class GroupShares {
  readonly external: { ready: number; capacity: number };
  readonly liveGroups: readonly GroupPolicy[];
  readonly primaries: readonly GroupPolicy[];
  readonly overflows: readonly GroupPolicy[];
  /** One primary group and nothing else: reasons speak of the endpoint, not of groups. */
  readonly single: boolean;
  /** The primary groups' part of the endpoint's target: what boxes attached by hand do not cover. */
  readonly split: number;
  readonly state = new Map<number, GroupState>();

  constructor(private readonly plan: PlanState) {
    const { input, mode } = plan;
    this.external = input.external ?? { ready: 0, capacity: 0 };
    this.liveGroups = input.groups.filter((g) => !g.deleted);
    this.primaries = this.liveGroups.filter((g) => roleOf(g) === "primary");
    this.overflows = this.liveGroups.filter((g) => roleOf(g) === "overflow");
    this.single = this.liveGroups.length === 1 && this.primaries.length === 1;
    this.split = Math.max(0, plan.target - this.external.capacity);
    const weights = shareWeights(this.primaries);
    for (const g of input.groups) {
      const st: GroupState = { target: 0, hot: 0, known: 0, probe: false, why: g.deleted ? "deleted" : "" };
      if (mode === "active" && !g.deleted) {
        const own = ownTarget(plan, g);
        const part = roleOf(g) === "primary" ? weights.get(g.id)! * this.split : 0;
        st.target = Math.max(part, own);
        st.why = roleOf(g) === "overflow" ? `overflow it served ${f1(own)} u/s` : own > part + EPS ? `its own demand ${f1(own)} u/s` : `${f1(100 * weights.get(g.id)!)} % of ${f1(this.split)} u/s`;
      }
      this.state.set(g.id, st);
    }
    for (const v of plan.live.filter((x) => plan.serving(x))) this.addHot(v.groupId, plan.estimate(v));
  }

  of(g: number): GroupState {
    return this.state.get(g)!;
  }

  /** A worker serving (or on its way to) group `g`: perf null is a probe. */
  addHot(g: number, perf: number | null): void {
    const st = this.of(g);
    st.hot++;
    if (perf === null) st.probe = true;
    else st.known += perf;
  }

  endpointHot(): number {
    return this.external.ready + [...this.state.values()].reduce((n, st) => n + st.hot, 0);
  }

  /**
   * Group `g` has what its target asks for. Keep one: while the endpoint has no serving worker,
   * every group wants one, so the first worker put back, restarted or rented anywhere (the fastest,
   * then the best perf/$) satisfies them all.
   */
  satisfied(g: number): boolean {
    const st = this.of(g);
    if (st.hot > 0) return st.target <= EPS || st.probe || st.known >= st.target - EPS;
    return st.target <= EPS && !(this.plan.keepOne && this.endpointHot() === 0);
  }

  /** What group `g` is short of, units/s (0 once satisfied). */
  shortOf(g: number): number {
    return this.satisfied(g) ? 0 : Math.max(0, this.of(g).target - this.of(g).known);
  }

  /** The need, for reasons. */
  need(g: number): string {
    const { params, forecast } = this.plan;
    const st = this.of(g);
    const have = `have ${f1(st.known)}${st.probe ? " + unmeasured" : ""}`;
    if (this.single) return `need ${f1(st.target)} u/s (predicted ${f1(forecast.predicted)}, min_load ${params.min_load}, target_util ${params.target_util}), ${have}`;
    return `group '${this.plan.groups.get(g)!.name}' needs ${f1(st.target)} u/s (${st.why}; endpoint ${f1(this.plan.target)}), ${have}`;
  }

  /** For the plan's summary, in the input's group order. */
  targets(): GroupTarget[] {
    return this.plan.input.groups.map((g) => {
      const st = this.of(g.id);
      return { id: g.id, name: g.name, role: roleOf(g), deleted: g.deleted === true, target: st.target, capacity: st.known, why: st.why };
    });
  }
}
