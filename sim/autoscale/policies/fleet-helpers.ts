// Small fleet readings shared by the baselines (not by the production adapter, which uses core/).
import type { WorkerSnapshot } from "../../../core/snapshot.ts";
import type { InstanceView, ScalingContext } from "./policy.ts";

export const isBooting = (v: InstanceView) => v.state === "creating" || v.state === "loading" || v.state === "starting";

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

/** Ready workers with nothing in flight, oldest id first (deterministic). */
export function idleReady(ctx: ScalingContext): InstanceView[] {
  return ctx.instances.filter((v) => v.state === "ready" && loadOf(ctx, v.id) <= 0).sort((a, b) => a.id.localeCompare(b.id, "en", { numeric: true }));
}

/** Newest booting first: the ones that have cost least so far. */
export function bootingNewestFirst(ctx: ScalingContext): InstanceView[] {
  return ctx.instances.filter(isBooting).sort((a, b) => b.since - a.since || b.id.localeCompare(a.id, "en", { numeric: true }));
}
