// How an endpoint's load is split over its worker groups for sizing, pure: the primary groups share
// the endpoint's target by traffic_share (renormalised over them), each at least what its own recent
// demand asks for; an overflow group is sized for the overflow it served, plus what the primary
// groups could not take (the planner adds that part once it knows). Definitions: docs/scaler.md.
import type { GroupRole } from "./endpoint.ts";
import type { LoadBucket } from "./snapshot.ts";

export interface SharedGroup {
  id: number;
  /** Weight among the endpoint's primary groups (default 1). */
  traffic_share?: number;
}

/**
 * Each group's part of a load split by traffic_share, the weights renormalised to sum to 1; when no
 * group has a positive share, equal parts (the router then tries them in turn, as fallbacks).
 */
export function shareWeights(groups: readonly SharedGroup[]): Map<number, number> {
  const share = (g: SharedGroup) => Math.max(0, g.traffic_share ?? 1);
  const total = groups.reduce((s, g) => s + share(g), 0);
  return new Map(groups.map((g) => [g.id, total > 0 ? share(g) / total : 1 / groups.length]));
}

/**
 * One group's own history, as buckets of its own, from the endpoint's `by_group` figures: a primary
 * group's demand is the workload the share-weighted draw gave it (`arrived`; what it served for
 * others is their demand, not its own); an overflow group is never drawn, so its demand is what was
 * routed to it and what its workers served. null: no bucket carries per-group figures.
 */
export function groupHistory(buckets: readonly LoadBucket[], groupId: number, role: GroupRole): LoadBucket[] | null {
  const key = String(groupId);
  let any = false;
  const out: LoadBucket[] = [];
  for (const b of buckets) {
    if (!b.by_group) continue;
    any = true;
    const g = b.by_group[key];
    out.push({
      start: b.start,
      arrived: g ? (role === "primary" ? g.arrived : g.routed_workload) : 0,
      requests: g ? (role === "primary" ? g.requests : g.routed) : 0,
      served: g && role === "overflow" ? g.served : 0,
      rejected: 0,
      held_peak: 0,
    });
  }
  return any ? out : null;
}
