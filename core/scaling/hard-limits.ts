// Step 2 of a plan, whatever the load: the hard limits. max_workers (each group's, then the
// endpoint's), then max_hourly_cost. Over a limit, instances go in `byLimitRank` order: what serves
// nothing before what serves, the worst perf per dollar first.
import { isHot, type InstanceView } from "../fleet.ts";
import { EPS, type PlanState } from "./plan-state.ts";

export function enforceHardLimits(plan: PlanState): void {
  const { params } = plan;
  // Groups first: what they give up may already bring the endpoint under its own cap.
  for (const v of [...plan.live].sort(plan.byLimitRank)) {
    const max = plan.groupMax(v.groupId);
    if ((plan.groupCount.get(v.groupId) ?? 0) > max) plan.destroy(v, `over the group's max_workers (${max})`);
  }
  for (const v of [...plan.live].sort(plan.byLimitRank)) {
    if (plan.total <= params.max_workers) break;
    plan.destroy(v, `over max_workers (${params.max_workers})`);
  }
  if (plan.billed > plan.cap + EPS) releaseOverBudget(plan);
}

/**
 * Hot instances until the billed $/h is within max_hourly_cost: a ready one is released (the cold
 * walk may keep it stopped), one not yet serving is destroyed.
 */
function releaseOverBudget(plan: PlanState): void {
  const { cap } = plan;
  let billed = plan.billed;
  const costRelease: InstanceView[] = [];
  for (const v of plan.live.filter((x) => isHot(x)).sort(plan.byLimitRank)) {
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
  const why = `over max_hourly_cost ($${plan.params.max_hourly_cost}/h)`;
  for (const v of costRelease) {
    if (v.state === "ready") plan.release(v, why);
    else plan.destroy(v, why);
  }
  plan.billed = plan.billedNow();
}
