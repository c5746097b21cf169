// Step 1 of a plan, whatever the load: broken, stuck or unrestartable instances are released, and so
// is what a deleted worker group still holds.
import { loadDeadlineS } from "../load-deadline.ts";
import { f1, type PlanState } from "./plan-state.ts";

/** Errored, of a group that no longer exists, stuck loading or starting, or refused its restarts too often. */
export function repair(plan: PlanState): void {
  const { now, settings: s } = plan;
  for (const v of [...plan.live]) {
    const group = plan.groups.get(v.groupId);
    const ageS = (now - v.since) / 1000;
    if (v.state === "error") plan.destroy(v, `errored${v.detail ? `: ${v.detail}` : ""}`);
    else if (!group) plan.destroy(v, "its worker group no longer exists");
    else if (v.state === "creating" || v.state === "loading") {
      const deadline = loadDeadlineS(group.loadTimesS, s.loadDeadline);
      if (ageS > deadline) plan.destroy(v, `stuck loading for ${f1(ageS)} s (deadline ${f1(deadline)} s)`);
    } else if (v.state === "starting" && ageS > s.startDeadlineS) plan.destroy(v, `stuck starting for ${f1(ageS)} s (deadline ${s.startDeadlineS} s)`);
    else if (v.state === "stopped" && v.startFailures >= s.maxStartFailures) plan.destroy(v, `could not restart ${v.startFailures} times (GPU taken)`);
  }
}

/**
 * Deleted groups: the router routes nothing to them any more. What is not serving goes at once (cold
 * ones too: the group will not need them again); a worker still finishing requests is drained and
 * destroyed by a later pass once idle.
 */
export function retireDeletedGroups(plan: PlanState): void {
  for (const v of [...plan.live]) {
    if (!plan.retired(v)) continue;
    const name = plan.groups.get(v.groupId)!.name;
    if (v.state !== "ready") plan.destroy(v, `worker group '${name}' deleted: ${v.state} instance released`);
    else if (v.load <= 0) plan.destroy(v, `worker group '${name}' deleted: drained and idle`);
    else if (!v.drained) {
      plan.actions.push({ kind: "drain", instanceId: v.id, groupId: v.groupId, reason: `worker group '${name}' deleted: finishing its requests, released once idle` });
      v.drained = true;
    }
  }
}
