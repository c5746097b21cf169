// Step 4 of a plan (active only), group by group: put drained workers back (instant), restart cold
// instances (seconds), then rent (minutes). Drained workers serve nothing: they count only once put
// back. First keep one serving worker; then the primary groups; then what they could not get spills
// to the other primary groups and to the overflow groups.
import { isCold, isDrained, type InstanceView } from "../fleet.ts";
import { shareWeights } from "../group-targets.ts";
import { compareBestFirst, compareWorstFirst, rankOffers, type PerfBook, type RankedOffer } from "../placement.ts";
import type { VastOffer } from "../vast-api.ts";
import type { GroupShares } from "./group-shares.ts";
import { EPS, f1, type PlanState } from "./plan-state.ts";

export function scaleUp(plan: PlanState, shares: GroupShares): void {
  const up = new ScaleUp(plan, shares);
  up.keepOneServing();
  up.grow(shares.primaries.map((g) => g.id));
  spillOver(plan, shares, up);
}

/**
 * What a primary group could not get (its max_workers, no offers) spills, as the router spills it:
 * to the other primary groups, then to the overflow groups. At the endpoint's max_workers no group
 * can add an instance, and the slots went where the groups' own targets put them.
 */
function spillOver(plan: PlanState, shares: GroupShares, up: ScaleUp): void {
  const { primaries, overflows } = shares;
  let spill = primaries.length === 0 ? shares.split : plan.total >= plan.params.max_workers ? 0 : primaries.reduce((sum, g) => sum + shares.shortOf(g.id), 0);
  const takers = primaries.filter((g) => shares.satisfied(g.id));
  if (spill > EPS && takers.length > 0) {
    const tw = shareWeights(takers);
    const before = new Map(takers.map((g) => [g.id, shares.of(g.id).target]));
    for (const g of takers) {
      const st = shares.of(g.id);
      st.target += spill * tw.get(g.id)!;
      st.why += ` + ${f1(spill * tw.get(g.id)!)} u/s the other primary groups cannot take`;
    }
    up.grow(takers.map((g) => g.id));
    let took = 0;
    for (const g of takers) {
      const extra = spill * tw.get(g.id)!;
      took += shares.satisfied(g.id) ? extra : Math.min(extra, Math.max(0, shares.of(g.id).known - before.get(g.id)!));
    }
    spill = Math.max(0, spill - took);
  }
  if (spill > EPS && overflows.length > 0) {
    const ow = shareWeights(overflows);
    for (const g of overflows) {
      const st = shares.of(g.id);
      const part = spill * ow.get(g.id)!;
      if (part > st.target) {
        st.target = part;
        st.why = `${f1(part)} u/s the primary groups cannot take`;
      }
    }
  }
  up.grow(overflows.map((g) => g.id));
}

class ScaleUp {
  /** Stopped instances whose restart failed (the GPU was taken): the first to make room for a rental. */
  private readonly evictable: InstanceView[];
  /**
   * An offer on a machine that holds one of our instances is that instance's GPU: renting it would
   * take the GPU a restart needs (Vast answers the rental no_such_ask once the restart took it).
   */
  private readonly ourMachines: Set<number>;
  private readonly books: Map<number, PerfBook>;
  /** Offers rented by this plan (groups may share a search). */
  private readonly taken = new Set<number>();

  constructor(
    private readonly plan: PlanState,
    private readonly shares: GroupShares,
  ) {
    this.evictable = plan.live.filter((v) => v.state === "stopped" && v.startFailures > 0 && !this.canRestart(v)).sort(this.worstFirst);
    this.ourMachines = new Set(plan.input.instances.flatMap((v) => (v.machineId == null ? [] : [v.machineId])));
    this.books = new Map(plan.input.groups.map((g) => [g.id, g.perf]));
  }

  private readonly bestFirst = (a: InstanceView, b: InstanceView) => compareBestFirst(this.plan.priced(a), this.plan.priced(b));
  private readonly worstFirst = (a: InstanceView, b: InstanceView) => compareWorstFirst(this.plan.priced(a), this.plan.priced(b));

  private canRestart(v: InstanceView): boolean {
    const { settings: s, now } = this.plan;
    return v.state === "stopped" && !this.plan.retired(v) && v.startFailures < s.maxStartFailures && (v.lastStartFailureAt === null || now - v.lastStartFailureAt >= s.restartBackoffS * 1000);
  }

  private putBack(v: InstanceView, reason: string): void {
    this.plan.actions.push({ kind: "undrain", instanceId: v.id, groupId: v.groupId, reason });
    v.drained = false;
    this.shares.addHot(v.groupId, v.perf);
  }

  private restart(v: InstanceView, reason: string): void {
    const { plan } = this;
    plan.actions.push({ kind: "start", instanceId: v.id, groupId: v.groupId, reason });
    v.state = "starting";
    v.since = plan.now;
    plan.billed += v.dph;
    this.shares.addHot(v.groupId, plan.estimate(v));
  }

  /** With no serving worker anywhere, the fastest one in any live group (put back, else restarted) serves the endpoint before any group rents. */
  keepOneServing(): void {
    const { plan, shares } = this;
    if (!plan.keepOne || shares.endpointHot() !== 0) return;
    const fast =
      plan.live.filter((v) => isDrained(v) && !plan.retired(v)).sort(this.bestFirst)[0] ??
      plan.live.filter((v) => this.canRestart(v) && plan.billed + v.dph <= plan.cap + EPS).sort(this.bestFirst)[0];
    if (fast && isDrained(fast)) this.putBack(fast, `capacity wanted again: keep one serving worker (${shares.need(fast.groupId)})`);
    else if (fast) this.restart(fast, `scale up: keep one serving worker (${shares.need(fast.groupId)})`);
  }

  /** Groups `ids`, each until satisfied: drained workers back, restarts, then rentals (or a request for offers). */
  grow(ids: readonly number[]): void {
    const { plan, shares } = this;
    const want = (g: number) => ids.includes(g) && !shares.satisfied(g);
    for (const v of plan.live.filter((x) => isDrained(x) && !plan.retired(x)).sort(this.bestFirst)) {
      if (want(v.groupId)) this.putBack(v, `capacity wanted again: ${shares.need(v.groupId)}`);
    }
    for (const v of plan.live.filter((x) => this.canRestart(x)).sort(this.bestFirst)) {
      if (!want(v.groupId) || plan.billed + v.dph > plan.cap + EPS) continue;
      this.restart(v, `scale up: ${shares.need(v.groupId)}`);
    }
    if (!ids.some(want)) return;
    if (!plan.input.offers) {
      for (const g of ids) if (want(g) && (!this.blocked(g) || this.victimFor(g)) && !plan.needsOffers.includes(g)) plan.needsOffers.push(g);
      return;
    }
    this.rent(ids, want, plan.input.offers);
  }

  /**
   * Each group's offers, best first (valued with its own book). The group furthest behind its
   * target rents next, so groups share fairly what the endpoint's limits leave; among equals, the
   * better offer. With one group: its offers in order.
   */
  private rent(ids: readonly number[], want: (g: number) => boolean, offers: ReadonlyMap<number, readonly VastOffer[]>): void {
    const { plan, shares } = this;
    const usable = new Map(
      [...offers].filter(([g]) => ids.includes(g)).map(([g, list]) => [g, list.filter((o) => o.machine_id == null || !this.ourMachines.has(o.machine_id))] as const),
    );
    const queues = new Map<number, RankedOffer[]>();
    for (const o of rankOffers(usable, this.books)) (queues.get(o.groupId) ?? queues.set(o.groupId, []).get(o.groupId)!).push(o);
    const behind = (g: number) => {
      const st = shares.of(g);
      return st.target > EPS ? (st.target - st.known) / st.target : 1;
    };
    for (;;) {
      const wanting = ids.filter((g) => want(g) && (queues.get(g)?.length ?? 0) > 0);
      if (wanting.length === 0) break;
      const g = wanting.sort((a, b) => behind(b) - behind(a) || compareBestFirst(queues.get(a)![0]!, queues.get(b)![0]!))[0]!;
      const o = queues.get(g)!.shift()!;
      if (this.taken.has(o.offer.id) || plan.billed + o.dph > plan.cap + EPS) continue;
      if (this.blocked(o.groupId)) {
        if (!this.makeRoom(o.groupId)) {
          queues.set(g, []);
          continue;
        }
        if (this.blocked(o.groupId)) continue;
      }
      const reason = `scale up: ${shares.need(o.groupId)}; ${o.offer.gpu_name} at $${o.dph}/h${o.perf === null ? " (perf unknown: probe)" : `, ~${f1(o.perf)} u/s`}`;
      plan.actions.push({ kind: "create", groupId: o.groupId, offerId: o.offer.id, gpuName: o.offer.gpu_name, dph: o.dph, perf: o.perf, reason });
      this.taken.add(o.offer.id);
      plan.total++;
      plan.groupCount.set(o.groupId, (plan.groupCount.get(o.groupId) ?? 0) + 1);
      plan.billed += o.dph;
      shares.addHot(o.groupId, o.perf);
    }
  }

  private blocked(g: number): boolean {
    return this.plan.total >= this.plan.params.max_workers || (this.plan.groupCount.get(g) ?? 0) >= this.plan.groupMax(g);
  }

  /** Destroys the instance that makes room for a rental in group `g`; false if none may go. */
  private makeRoom(g: number): boolean {
    const { plan, shares } = this;
    const victim = this.victimFor(g);
    if (!victim) return false;
    if (plan.serving(victim)) {
      const st = shares.of(victim.groupId);
      st.hot--;
      st.known -= victim.perf ?? 0;
    }
    plan.destroy(
      victim,
      victim.groupId === g || victim.startFailures > 0
        ? "making room for a rental: it could not restart (GPU taken)"
        : `making room at max_workers for group '${plan.groups.get(g)!.name}', which needs capacity: beyond its own group's target`,
    );
    return true;
  }

  /**
   * Who makes room for group `g`: one that could not restart (of `g` itself, at its own max_workers);
   * else, at the endpoint's max_workers, what another group has beyond its own target.
   */
  private victimFor(g: number): InstanceView | undefined {
    const { plan } = this;
    const own = (plan.groupCount.get(g) ?? 0) >= plan.groupMax(g);
    return (
      this.evictable.find((v) => (own ? v.groupId === g : true) && plan.live.includes(v)) ??
      (own ? undefined : plan.live.filter((v) => this.spare(v, g)).sort((a, b) => spareRank(a) - spareRank(b) || this.worstFirst(a, b))[0])
    );
  }

  /**
   * At the endpoint's max_workers, a group's need for hot capacity comes before what another group
   * has beyond its own target: its cold instances, drained idle workers, idle workers its ready
   * fleet covers its target without. They would go in this plan's scale-down or a later one anyway,
   * and the room they free would be rented into then: making room now keeps the plan final. (The
   * slot is the short group's: its requests are drawn to it whatever the others hold.)
   */
  private spare(v: InstanceView, g: number): boolean {
    const { plan, shares } = this;
    if (v.groupId === g || plan.retired(v) || !shares.satisfied(v.groupId)) return false;
    if (isCold(v)) return true;
    if (v.state !== "ready" || v.load > 0) return false;
    if (isDrained(v)) return true;
    const st = shares.of(v.groupId);
    const perf = v.perf ?? 0;
    return plan.readyOf(v.groupId) - perf >= st.target - EPS && st.hot - 1 >= (st.target > EPS ? 1 : 0) && shares.endpointHot() - 1 >= plan.minHot;
  }
}

const spareRank = (v: InstanceView) => (isCold(v) ? 0 : isDrained(v) ? 1 : 2);
