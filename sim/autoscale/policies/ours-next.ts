// Prototypes of changes to the production policy, measured side by side with it. Each wraps the same
// planEndpoint (core/scaling-policy.ts) through the adapter's tweaks, so what moves the numbers here
// is exactly the change proposed for production (docs/autoscale.md, "What moved the numbers"):
//  - perfBook: the perf of every GPU type is known up front (learned on other endpoints of the same
//    model), so placement by perf per dollar is not stuck on the first, cheapest type it probed.
//  - burst: capacity never below the largest 10-s burst of the last hour spread over the bucket plus
//    target_queue_time (a floor passed as min_load): bursts then queue within the wait target.
//  - backlog: work waiting at the edge is planned over the time new capacity takes to boot, not over
//    target_queue_time (a cold endpoint no longer rents max_workers for one queue).
//  - drain: when the ready fleet without its least-loaded worker still covers the target, that worker
//    is drained (the router stops sending it requests) and released once idle, instead of waiting
//    for a worker to be idle at a tick, which lowest-wait routing never leaves.
import { quantile } from "../../../core/load-deadline.ts";
import { bucketDemand } from "../../../core/load-forecast.ts";
import { LOAD_BUCKET_MS } from "../../../core/snapshot.ts";
import type { PerfBook } from "../../../core/placement.ts";
import type { ScalingSettings } from "../../../core/scaling-policy.ts";
import { loadOf } from "./fleet-helpers.ts";
import { ours, type PlanTweaks } from "./ours.ts";
import type { ScalingAction, ScalingContext, ScalingPolicy } from "./policy.ts";

export interface NextOptions {
  name: string;
  perfBook?: PerfBook;
  burst?: boolean;
  backlog?: boolean;
  drain?: boolean;
  /** Experimental: rent the cheapest GPU that covers what is still missing, not always the best perf/$. */
  granular?: boolean;
  /** Forecast and deadline settings passed to planEndpoint (default: production's DEFAULT_SCALING). */
  settings?: ScalingSettings;
}

/** When the group has no load time yet, assume a boot takes this long (s). */
const DEFAULT_BOOT_S = 150;


export function oursNext(o: NextOptions): ScalingPolicy {
  const tweaks: PlanTweaks = {
    input(input, ctx) {
      let out = input;
      if (o.burst) {
        const from = ctx.now - 3_600_000;
        let peak = 0;
        for (const b of input.load.buckets) if (b.start >= from) peak = Math.max(peak, bucketDemand(b));
        const floor = peak / (LOAD_BUCKET_MS / 1000 + input.params.target_queue_time);
        out = { ...out, params: { ...out.params, min_load: Math.max(out.params.min_load, floor) } };
      }
      if (o.backlog) {
        const times = input.groups[0]?.loadTimesS ?? [];
        const bootS = times.length > 0 ? quantile(times, 0.5) : DEFAULT_BOOT_S;
        const tqt = Math.max(1, input.params.target_queue_time);
        out = { ...out, load: { ...out.load, waitingWorkload: (out.load.waitingWorkload * tqt) / Math.max(tqt, bootS) } };
      }
      if (o.drain) {
        // A draining worker still busy is out of the plan (it takes no new work and must not be
        // released yet); once idle it is shown as an idle ready worker, which the plan may release.
        // core's instanceView reads the router's "draining" phase as not ready ("starting", aged from
        // creation), which its repair step would destroy as stuck: show it as what it is, ready and idle.
        const draining = new Map(ctx.instances.filter((v) => v.draining).map((v) => [v.id, v]));
        out = {
          ...out,
          instances: out.instances.flatMap((v) => {
            const d = draining.get(v.id);
            if (!d) return [v];
            if (loadOf(ctx, v.id) > 0) return [];
            return [{ ...v, state: "ready" as const, load: 0, perf: v.perf ?? d.expected_perf }];
          }),
        };
      }
      return out;
    },
    after(plan, input, ctx, planned) {
      const actions = o.granular ? granular(plan.summary.target, input, ctx, planned) : planned;
      if (!o.drain) return actions;
      const touched = new Set(actions.flatMap((a) => (a.kind === "create" ? [] : [a.id])));
      const draining = ctx.instances.filter((v) => v.draining && v.state === "ready" && !touched.has(v.id));
      const scaleUps = actions.filter((a) => a.kind === "create" || a.kind === "start").length;
      const out: ScalingAction[] = [];
      let replaced = 0;
      for (const v of draining) {
        // Idle and shown to the plan, which kept it: the target rose. Busy while the plan wants
        // capacity: putting it back is instant, a rental takes minutes.
        if (loadOf(ctx, v.id) <= 0) out.push({ kind: "undrain", id: v.id, reason: "kept by the plan" });
        else if (replaced < scaleUps) {
          out.push({ kind: "undrain", id: v.id, reason: "capacity wanted again" });
          replaced++;
        }
      }
      // Each worker put back stands in for one scale-up of the plan, rentals first.
      const drop = new Set<ScalingAction>();
      for (const kind of ["create", "start"] as const) {
        for (const a of actions) if (drop.size < replaced && a.kind === kind) drop.add(a);
      }
      out.push(...actions.filter((a) => !drop.has(a)));
      // Nothing wanted and nothing released by the plan: drain the least-loaded worker if the rest covers the target.
      if (plan.summary.mode === "active" && actions.length === 0) {
        const serving = input.instances.filter((v) => v.state === "ready" && !ctx.instances.find((x) => x.id === v.id)?.draining);
        const capacity = serving.reduce((s, v) => s + (v.perf ?? 0), 0);
        const victim = serving
          .map((v) => ({ v, load: loadOf(ctx, v.id), perDollar: (v.perf ?? 0) / Math.max(v.dph, 1e-6) }))
          .sort((a, b) => a.load - b.load || a.perDollar - b.perDollar || a.v.id.localeCompare(b.v.id))[0];
        if (victim && serving.length > 1 && capacity - (victim.v.perf ?? 0) >= plan.summary.target) {
          out.push({ kind: "drain", id: victim.v.id, reason: `${(capacity - (victim.v.perf ?? 0)).toFixed(0)} u/s without it covers ${plan.summary.target.toFixed(0)}` });
        }
      }
      return out;
    },
  };
  const policy = ours({ name: o.name, perfBook: o.perfBook, settings: o.settings, tweaks });
  return policy;
}

/** Re-chooses the GPU of each create: the cheapest offer covering the deficit left, else the best perf/$. */
function granular(target: number, input: { instances: readonly { state: string; perf: number | null }[] }, ctx: ScalingContext, actions: ScalingAction[]): ScalingAction[] {
  const creates = actions.filter((a) => a.kind === "create");
  if (creates.length === 0) return actions;
  const started = new Set(actions.flatMap((a) => (a.kind === "start" ? [a.id] : [])));
  let have = 0;
  for (const v of input.instances) if (["creating", "loading", "starting", "ready"].includes(v.state)) have += v.perf ?? 0;
  for (const v of ctx.instances) if (started.has(v.id)) have += v.expected_perf;
  let missing = target - have;
  const offers = [...ctx.offers].sort((a, b) => a.dph - b.dph);
  const best = [...ctx.offers].sort((a, b) => b.expected_perf / b.dph - a.expected_perf / a.dph)[0]!;
  const chosen: ScalingAction[] = [];
  for (let i = 0; i < creates.length && missing > 0; i++) {
    const cover = offers.find((o) => o.expected_perf >= missing && o.dph < best.dph);
    const pick = cover ?? best;
    chosen.push({ kind: "create", gpu_name: pick.gpu_name, reason: `${pick.gpu_name} for ${missing.toFixed(0)} u/s missing` });
    missing -= pick.expected_perf;
  }
  return [...actions.filter((a) => a.kind !== "create"), ...chosen];
}
