// Small fleet readings and the graceful scale-down shared by the baselines and the prototype (not by
// the production adapter, which decides with core/ alone).
import type { WorkerSnapshot } from "../../../core/snapshot.ts";
import type { InstanceView, ScalingAction, ScalingContext } from "./policy.ts";

export const isBooting = (v: InstanceView) => v.state === "creating" || v.state === "loading" || v.state === "starting";
/** Ready and taking requests. */
export const isServing = (v: InstanceView) => v.state === "ready" && !v.draining;

/** Workload the router counts on a ready worker (reported in flight + routed since). */
export function loadOf(ctx: ScalingContext, id: string): number {
  const w: WorkerSnapshot | undefined = ctx.snapshot.workers.find((x) => x.id === id);
  return w ? w.cur_load + w.pending_load : 0;
}

/** Arrived workload per second over the last `windowS` seconds, from the router's 10-s buckets. */
export function bucketRate(ctx: ScalingContext, windowS: number): number {
  const from = ctx.now - windowS * 1000;
  let work = 0;
  for (let i = ctx.snapshot.buckets.length - 1; i >= 0; i--) {
    const b = ctx.snapshot.buckets[i]!;
    if (b.start < from) break;
    work += b.arrived;
  }
  return work / windowS;
}

const byId = (a: InstanceView, b: InstanceView) => a.id.localeCompare(b.id, "en", { numeric: true });

/** Newest booting first: the ones that have cost least so far. */
export function bootingNewestFirst(ctx: ScalingContext): InstanceView[] {
  return ctx.instances.filter(isBooting).sort((a, b) => b.since - a.since || byId(b, a));
}

/**
 * Takes `count` serving workers out of service, least loaded first: idle ones are released at once
 * with `release`, busy ones are drained (released by `finishDrains` once idle). Returns how many.
 */
export function scaleDown(ctx: ScalingContext, count: number, release: "stop" | "destroy", actions: ScalingAction[], reason: string): number {
  const victims = ctx.instances
    .filter(isServing)
    .map((v) => ({ v, load: loadOf(ctx, v.id) }))
    .sort((a, b) => a.load - b.load || byId(a.v, b.v))
    .slice(0, Math.max(0, count));
  for (const { v, load } of victims) actions.push(load <= 0 ? { kind: release, id: v.id, reason } : { kind: "drain", id: v.id, reason });
  return victims.length;
}

/** Draining workers: released once idle; put back in rotation first when capacity is wanted again. */
export function drainingWorkers(ctx: ScalingContext): InstanceView[] {
  return ctx.instances.filter((v) => v.state === "ready" && v.draining).sort(byId);
}

/** Releases draining workers that are now idle (except those this decision put back in rotation). */
export function finishDrains(ctx: ScalingContext, release: "stop" | "destroy", actions: ScalingAction[]): void {
  const undrained = new Set(actions.filter((a) => a.kind === "undrain").map((a) => (a as { id: string }).id));
  for (const v of drainingWorkers(ctx)) if (!undrained.has(v.id) && loadOf(ctx, v.id) <= 0) actions.push({ kind: release, id: v.id, reason: "drained" });
}

/**
 * Resizes a fleet of fresh instances (no cold tier) from `current` serving-or-booting workers to
 * `want`: up by putting draining workers back, then renting; down by cancelling the newest boots,
 * then draining the least loaded.
 */
export function resize(ctx: ScalingContext, current: number, want: number, reason: string, gpu_name: string): ScalingAction[] {
  const actions: ScalingAction[] = [];
  let n = current;
  for (const v of drainingWorkers(ctx)) {
    if (n >= want) break;
    actions.push({ kind: "undrain", id: v.id, reason });
    n++;
  }
  for (; n < want; n++) actions.push({ kind: "create", gpu_name, reason });
  for (const v of bootingNewestFirst(ctx)) {
    if (n <= want) break;
    actions.push({ kind: "destroy", id: v.id, reason });
    n--;
  }
  if (n > want) scaleDown(ctx, n - want, "destroy", actions, reason);
  finishDrains(ctx, "destroy", actions);
  return actions;
}
