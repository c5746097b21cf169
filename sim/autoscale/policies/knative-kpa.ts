// Knative's Pod Autoscaler with its defaults: a 60-s stable window and a 6-s panic window, panic
// when the panic window wants ≥ 200 % of the ready pods (then no scale-down for 60 s), target
// utilisation 70 %, scale-down at most halving per step, scale to zero 30 s after the stable window
// saw no traffic. It evaluates every 2 s; the activator buffers requests at the edge, so clients
// are held as ours are. Metric: arrivals in workload units/s (KPA's "rps" mode, in workload units).
// Pods are created fresh (no cold tier) and removed when idle (graceful drain).
import { bestPerfPerDollar, type ScalingPolicy } from "./policy.ts";
import { isBooting, isServing, resize } from "./fleet-helpers.ts";

export const KPA_DEFAULTS = { tickMs: 2000, stableS: 60, panicS: 6, panicThreshold: 2, targetUtil: 0.7, scaleToZeroGraceS: 30, maxScaleDownRate: 2 };

export function knativeKpa(settings = KPA_DEFAULTS): ScalingPolicy {
  let panicUntil = -Infinity;
  let lastTrafficAt = -Infinity;
  return {
    name: "knative-kpa",
    clients: "edge",
    tickMs: settings.tickMs,
    scaleNow: false,
    decide(ctx) {
      const offer = bestPerfPerDollar(ctx.offers);
      const perPod = offer.expected_perf * settings.targetUtil;
      const stable = ctx.observed.arrived(settings.stableS * 1000).workload / settings.stableS;
      const panic = ctx.observed.arrived(settings.panicS * 1000).workload / settings.panicS;
      if (panic > 0 || ctx.snapshot.waiting.requests > 0) lastTrafficAt = ctx.now;
      const ready = ctx.instances.filter(isServing).length;
      const current = ready + ctx.instances.filter(isBooting).length;
      const wantStable = Math.ceil(stable / perPod - 1e-9);
      const wantPanic = Math.ceil(panic / perPod - 1e-9);
      if (wantPanic >= settings.panicThreshold * Math.max(1, ready) && wantPanic > ready) panicUntil = ctx.now + settings.stableS * 1000;
      let want = ctx.now < panicUntil ? Math.max(wantPanic, wantStable, current) : wantStable;
      // Requests held by the activator with nothing running: scale from zero now.
      if (want === 0 && ctx.snapshot.waiting.requests > 0) want = 1;
      if (want === 0 && ctx.now - lastTrafficAt < settings.scaleToZeroGraceS * 1000) want = Math.min(1, current);
      want = Math.max(want, Math.ceil(current / settings.maxScaleDownRate));
      want = Math.min(want, ctx.params.max_workers);

      return resize(ctx, current, want, `kpa ${current} → ${want}`, offer.gpu_name);
    },
  };
}
