// Step 6 of a plan: the cold tier. Stopped-but-loaded instances, best perf/$ first, are kept while the
// loaded fleet (hot + kept cold) has fewer than cold_workers instances (endpoint, or the group's own)
// or less capacity than min_cold_load (endpoint) or cold_mult × the group's target. Hot workers the
// plan released that fit are stopped, the rest destroyed; a deleted group's are destroyed.
// Suspended: no target is computed, so the tier is sized on the ready fleet the plan leaves.
import { isCold, isHot } from "../fleet.ts";
import { compareBestFirst } from "../placement.ts";
import type { GroupShares } from "./group-shares.ts";
import { EPS, f1, type PlanState } from "./plan-state.ts";

export function walkColdTier(plan: PlanState, shares: GroupShares): void {
  const { mode, params, live, actions } = plan;
  const walkTarget = (g: number) =>
    mode === "suspended" ? live.reduce((sum, v) => sum + (v.groupId === g && v.state === "ready" ? (v.perf ?? 0) : 0), 0) : (shares.state.get(g)?.target ?? 0);
  let loadedCount = 0;
  let loadedCap = 0;
  const groupLoaded = new Map<number, { count: number; cap: number }>();
  const addLoaded = (g: number, perf: number | null) => {
    loadedCount++;
    loadedCap += perf ?? 0;
    const gl = groupLoaded.get(g) ?? { count: 0, cap: 0 };
    groupLoaded.set(g, { count: gl.count + 1, cap: gl.cap + (perf ?? 0) });
  };
  for (const v of live.filter((x) => isHot(x) && !plan.retired(x))) addLoaded(v.groupId, plan.estimate(v));
  for (const a of actions) if (a.kind === "create") addLoaded(a.groupId, a.perf);
  const unmet = mode === "active" && shares.liveGroups.some((g) => !shares.satisfied(g.id));
  const wasReleased = new Set(plan.released.map((v) => v.id));
  const candidates = [...live.filter(isCold), ...plan.released].sort((a, b) => compareBestFirst(plan.priced(a), plan.priced(b)));
  for (const v of candidates) {
    const groupCold = plan.groups.get(v.groupId)?.cold_workers ?? null;
    const gl = groupLoaded.get(v.groupId) ?? { count: 0, cap: 0 };
    const coldCapacity = params.cold_mult * walkTarget(v.groupId);
    // While a group's target is still unmet (no room, no budget or no offers), every loaded instance
    // is kept: the cheapest capacity to bring back, and destroying one would only free room that
    // the next tick then fills with a fresh rental.
    const keep =
      !plan.retired(v) &&
      (unmet ||
        loadedCount < params.cold_workers ||
        (groupCold !== null && gl.count < groupCold) ||
        gl.cap < coldCapacity - EPS ||
        loadedCap < params.min_cold_load - EPS);
    if (keep) {
      addLoaded(v.groupId, plan.estimate(v));
      if (wasReleased.has(v.id)) actions.push({ kind: "stop", instanceId: v.id, groupId: v.groupId, reason: `${plan.reasons.get(v.id)}; kept cold` });
    } else {
      const why = plan.retired(v)
        ? `worker group '${plan.groups.get(v.groupId)!.name}' deleted`
        : `beyond the cold tier (cold_workers ${groupCold ?? params.cold_workers}, cold capacity ${f1(Math.max(coldCapacity, params.min_cold_load))} u/s)`;
      // Pushed, not plan.destroy(): a released worker is already out of `live`, and the walk reads
      // `live` as the scale-down left it.
      actions.push({ kind: "destroy", instanceId: v.id, groupId: v.groupId, reason: wasReleased.has(v.id) ? `${plan.reasons.get(v.id)}; ${why}` : why });
    }
  }
}
