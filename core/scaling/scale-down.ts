// Step 5 of a plan. Stopped: every hot worker goes. Suspended: no scaling either way. Otherwise,
// group by group: drained workers once idle (the target did not want them back); then idle ready
// workers, worst perf/$ first, while the group's ready fleet without them still covers its target
// and the endpoint's ready fleet the endpoint's (a group whose share went to a group still booting
// keeps serving until that one is ready); then, when the group restarts and rents nothing, busy ones
// the same way, drained rather than released. Stop at the first that cannot go, so more load never
// releases more. Released workers are stopped or destroyed by the cold walk.
import { isDrained, isHot, type InstanceView } from "../fleet.ts";
import { compareWorstFirst, perfPerDollar } from "../placement.ts";
import type { GroupShares } from "./group-shares.ts";
import { EPS, f1, type PlanState } from "./plan-state.ts";

export function scaleDown(plan: PlanState, shares: GroupShares): void {
  if (plan.mode === "stopped") {
    for (const v of plan.live.filter(isHot)) {
      if (v.state === "ready") plan.release(v, "endpoint stopped");
      else plan.destroy(v, "endpoint stopped");
    }
  } else if (plan.mode === "suspended") {
    // A worker drained before the suspension serves again.
    for (const v of plan.live.filter((x) => isDrained(x) && !plan.retired(x))) {
      plan.actions.push({ kind: "undrain", instanceId: v.id, groupId: v.groupId, reason: "endpoint suspended: its fleet serves as it is" });
      v.drained = false;
    }
  } else shrink(plan, shares);
}

/** Put back earlier in this plan, then made surplus by a larger or better one put back after it: it stays drained. */
function cancelUndrain(plan: PlanState, v: InstanceView): boolean {
  const undrained = plan.actions.findIndex((a) => a.kind === "undrain" && a.instanceId === v.id);
  if (undrained >= 0) plan.actions.splice(undrained, 1);
  return undrained >= 0;
}

function shrink(plan: PlanState, shares: GroupShares): void {
  const { mode, params, idleS } = plan;
  const worstFirst = (a: InstanceView, b: InstanceView) => compareWorstFirst(plan.priced(a), plan.priced(b));
  const scaledUp = new Set(plan.actions.flatMap((a) => (a.kind === "create" || a.kind === "start" ? [a.groupId] : [])));
  let hotLeft = shares.endpointHot();
  let readyLeft = plan.readyOf(null);
  for (const v of plan.live.filter((x) => isDrained(x) && x.load <= 0)) plan.release(v, "drained and idle");
  for (const g of shares.liveGroups) {
    const st = shares.of(g.id);
    let readyKnown = plan.readyOf(g.id);
    const minCount = st.target > EPS ? 1 : 0;
    const covers = (perf: number) =>
      readyKnown - perf >= st.target - EPS && readyLeft - perf >= shares.split - EPS && st.hot - 1 >= minCount && hotLeft - 1 >= plan.minHot;
    const goes = (perf: number) => {
      readyKnown -= perf;
      readyLeft -= perf;
      st.hot--;
      hotLeft--;
    };
    const left = () => (shares.single ? `${f1(readyKnown)} u/s` : `group '${g.name}' ${f1(readyKnown)} u/s`);
    // After a worker was put back (it may cover more than was missing), an idle one may now be surplus.
    const idle = plan.live.filter((v) => v.groupId === g.id && v.state === "ready" && v.load <= 0).sort(worstFirst);
    let cannot = false;
    for (const v of idle) {
      if (!covers(v.perf ?? 0)) {
        cannot = true;
        break;
      }
      goes(v.perf ?? 0);
      cancelUndrain(plan, v);
      plan.release(v, mode === "idle" ? `idle for ${f1(idleS ?? Infinity)} s (inactivity_timeout ${params.inactivity_timeout} s)` : `scale down: ${left()} left covers ${f1(st.target)}`);
    }
    // A group that restarts or rents has less ready capacity than its target, so it drains nothing;
    // after a worker was put back, a busy one with worse perf per dollar may now be surplus.
    if (!plan.settings.drain || mode !== "active" || cannot || scaledUp.has(g.id)) continue;
    const busy = plan.live
      .filter((v) => v.groupId === g.id && v.state === "ready" && !isDrained(v) && v.load > 0)
      // Worst perf per dollar first; among equals, the least loaded (it is idle soonest).
      .sort((a, b) => (perfPerDollar(plan.priced(a)) ?? 0) - (perfPerDollar(plan.priced(b)) ?? 0) || a.load - b.load || worstFirst(a, b));
    for (const v of busy) {
      if (!covers(v.perf ?? 0)) break;
      goes(v.perf ?? 0);
      v.drained = true;
      if (!cancelUndrain(plan, v))
        plan.actions.push({ kind: "drain", instanceId: v.id, groupId: v.groupId, reason: `scale down: ${left()} without it covers ${f1(st.target)}; released once idle` });
    }
  }
}
