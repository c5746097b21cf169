// Static peak provisioning: enough workers for the trace's busiest minute, rented before the
// window opens and never released. The classic baseline: never short, always paying for the peak.
import { costOf, type TraceRequest } from "../trace.ts";
import type { ScalingAction, ScalingPolicy } from "./policy.ts";

/** Workers for the peak 60-s load (sliding by 10 s) at `targetUtil`. */
export function peakWorkers(requests: readonly TraceRequest[], perf: number, targetUtil: number): number {
  const bins = new Map<number, number>();
  for (const r of requests) {
    const b = Math.floor(r.at / 10_000);
    bins.set(b, (bins.get(b) ?? 0) + costOf(r));
  }
  let peak = 0;
  for (const b of bins.keys()) {
    let sum = 0;
    for (let k = 0; k < 6; k++) sum += bins.get(b - k) ?? 0;
    peak = Math.max(peak, sum / 60);
  }
  return Math.max(1, Math.ceil(peak / (perf * targetUtil)));
}

export function staticPeak(count: number, gpu_name: string): ScalingPolicy {
  return {
    name: "static-peak",
    clients: "edge",
    tickMs: 60_000,
    scaleNow: false,
    decide(ctx) {
      const have = ctx.instances.filter((v) => v.state !== "stopped").length;
      const actions: ScalingAction[] = [];
      for (let i = have; i < count; i++) actions.push({ kind: "create", gpu_name, reason: `static fleet of ${count}` });
      return actions;
    },
  };
}
