// Routing across an endpoint's worker groups, pure: which group serves a request, then which worker in
// it (core/routing.ts). Used by the endpoint's Durable Object and the autoscaling simulator.
//
// The group is chosen by the request's `request_idx`, hashed to a point in [0, 1) and looked up in
// the primary groups' cumulative traffic shares: deterministic (a re-poll of the same request lands in
// the same group) and, since the hash spreads consecutive ids evenly, the realised shares converge to
// the weights. A group that cannot take the request (no ready worker under `max_queue_time`) gives its
// share to the others; overflow groups serve only what no primary group can take.
import { pickWorker, statusInWords, type LiveWorker, type PickResult, type RoutingLimits } from "./routing.ts";

export interface RoutingGroup {
  name: string;
  /** Weight among the primary groups (≥ 0; 0 takes no share but may still serve as a fallback). */
  traffic_share: number;
  role: "primary" | "overflow";
  /** Deleted groups drain: no new requests. */
  draining: boolean;
}

/** splitmix32-style avalanche of an integer id to [0, 1): consecutive ids land far apart. */
export function unitHash(n: number): number {
  let x = (Math.floor(n) ^ 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  // Mix in the high part of ids above 2^32 too.
  const hi = Math.floor(n / 0x1_0000_0000);
  if (hi) x = (Math.imul(x ^ hi, 0x27d4eb2d) ^ (x >>> 15)) >>> 0;
  return x / 0x1_0000_0000;
}

/**
 * The primary group a request belongs to by its id, among `groups` (the share-weighted draw), or null
 * when no group has a positive share. The draw ignores which groups can serve: it is the request's
 * demand on that group, what the scaler sizes each group for.
 */
export function groupByShare(groups: readonly RoutingGroup[], requestIdx: number): RoutingGroup | null {
  const primaries = groups.filter((g) => g.role === "primary" && !g.draining && g.traffic_share > 0);
  const total = primaries.reduce((s, g) => s + g.traffic_share, 0);
  if (total <= 0) return null;
  let point = unitHash(requestIdx) * total;
  for (const g of primaries) {
    point -= g.traffic_share;
    if (point < 0) return g;
  }
  return primaries[primaries.length - 1]!;
}

export type GroupPick = (PickResult & { kind: "worker" }) & { group: string | null; spilled: boolean };

/**
 * Picks a group, then a worker. Order: the request's own group by share; if it cannot serve, the other
 * primary groups re-drawn by share among those that can; then overflow groups; workers of no known
 * group (attached before groups existed) count as one more primary group with the smallest share.
 */
export function pickAcrossGroups(
  groups: readonly RoutingGroup[],
  workersOf: (group: string | null) => Iterable<LiveWorker>,
  cost: number,
  requestIdx: number,
  limits: RoutingLimits,
): GroupPick | (PickResult & { kind: "none" }) {
  const usable = groups.filter((g) => !g.draining);
  const first = groupByShare(usable, requestIdx);
  const tried = new Set<string | null>();
  let none = { total: 0, loading: 0, busy: 0 };
  const attempt = (group: string | null, spilled: boolean): GroupPick | null => {
    tried.add(group);
    const pick = pickWorker(workersOf(group), cost, limits);
    if (pick.kind === "worker") return { ...pick, group, spilled };
    none = { total: none.total + pick.total, loading: none.loading + pick.loading, busy: none.busy + pick.busy };
    return null;
  };
  if (first) {
    const hit = attempt(first.name, false);
    if (hit) return hit;
  }
  // The others, by share among those left, in a deterministic order for this request.
  let rest = usable.filter((g) => g.role === "primary" && !tried.has(g.name));
  while (rest.length > 0) {
    const next = groupByShare(rest, requestIdx) ?? rest[0]!;
    const hit = attempt(next.name, first !== null);
    if (hit) return hit;
    rest = rest.filter((g) => g.name !== next.name);
  }
  const hit = attempt(null, first !== null);
  if (hit) return hit;
  for (const g of usable.filter((x) => x.role === "overflow")) {
    const over = attempt(g.name, true);
    if (over) return over;
  }
  return { kind: "none", status: statusInWords(none.total, none.loading, none.busy), ...none };
}
