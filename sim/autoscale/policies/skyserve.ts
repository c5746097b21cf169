// SkyServe's request-rate autoscaler with its defaults: every 20 s, replicas = ⌈rate over the last
// 60 s ÷ target per replica⌉ (at least min_replicas = 1), applied only after the wish has held for
// 300 s (up) or 1,200 s (down). Target per replica: max_perf × target_util, in workload units (the
// QPS target an operator would set from a benchmark). Replicas are fresh VMs; its load balancer
// queues requests, so clients are held at the edge as ours are.
import { bestPerfPerDollar, type ScalingPolicy } from "./policy.ts";
import { isBooting, isServing, resize } from "./fleet-helpers.ts";

export const SKYSERVE_DEFAULTS = { tickMs: 20_000, windowS: 60, upscaleDelayS: 300, downscaleDelayS: 1200, minReplicas: 1 };

export function skyServe(settings = SKYSERVE_DEFAULTS): ScalingPolicy {
  let up = 0;
  let down = 0;
  return {
    name: "skyserve",
    clients: "edge",
    tickMs: settings.tickMs,
    scaleNow: false,
    decide(ctx) {
      const offer = bestPerfPerDollar(ctx.offers);
      const perReplica = offer.expected_perf * ctx.params.target_util;
      const rate = ctx.observed.arrived(settings.windowS * 1000).workload / settings.windowS;
      const desired = Math.min(ctx.params.max_workers, Math.max(settings.minReplicas, Math.ceil(rate / perReplica - 1e-9)));
      const current = ctx.instances.filter((v) => isServing(v) || isBooting(v)).length;
      // Below the floor is a repair, not a scaling decision: no delay.
      let target = current;
      if (current < settings.minReplicas) target = settings.minReplicas;
      else if (desired > current) {
        down = 0;
        if (++up >= settings.upscaleDelayS / (settings.tickMs / 1000)) {
          target = desired;
          up = 0;
        }
      } else if (desired < current) {
        up = 0;
        if (++down >= settings.downscaleDelayS / (settings.tickMs / 1000)) {
          target = desired;
          down = 0;
        }
      } else up = down = 0;

      return resize(ctx, current, target, `skyserve ${current} → ${target}`, offer.gpu_name);
    },
  };
}
