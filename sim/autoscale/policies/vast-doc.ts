// What Vast's documentation describes (PROTOCOL.md §5): every minute, hot capacity = load ÷
// target_util; a cold tier of stopped-but-loaded workers sized by cold_mult × load (at least
// cold_workers); scale up by restarting cold workers first, then renting; scale down by stopping.
// Clients poll /route/ with the SDK's backoff; nothing is held at the edge, no fast path.
// Vast's exact formula is not public: this is the documented behaviour, read literally.
import { bestPerfPerDollar, type ScalingAction, type ScalingPolicy } from "./policy.ts";
import { bucketRate, idleReady, isBooting } from "./fleet-helpers.ts";

export function vastDoc(): ScalingPolicy {
  return {
    name: "vast-doc",
    clients: "poll",
    tickMs: 60_000,
    scaleNow: false,
    decide(ctx) {
      const p = ctx.params;
      const offer = bestPerfPerDollar(ctx.offers);
      const perf = offer.expected_perf;
      const load = bucketRate(ctx, 60);
      const hotCap = Math.max(p.min_load, load / p.target_util);
      const hotWant = Math.min(p.max_workers, Math.ceil(hotCap / perf - 1e-9));
      const coldCap = Math.max(p.min_cold_load, p.cold_mult * load);
      const coldWant = Math.max(p.cold_workers, Math.ceil(coldCap / perf - 1e-9) - hotWant);

      const actions: ScalingAction[] = [];
      const ready = ctx.instances.filter((v) => v.state === "ready");
      const booting = ctx.instances.filter(isBooting);
      const cold = ctx.instances.filter((v) => v.state === "stopped").sort((a, b) => b.since - a.since); // most recently stopped first
      let hot = ready.length + booting.length;
      let total = ctx.instances.length;
      let coldLeft = cold.length;

      // Up: restart cold workers (seconds), then rent (minutes).
      for (const v of cold) {
        if (hot >= hotWant) break;
        actions.push({ kind: "start", id: v.id, reason: `hot ${hot} < ${hotWant}` });
        hot++;
        coldLeft--;
      }
      for (; hot < hotWant && total < p.max_workers; hot++, total++) actions.push({ kind: "create", gpu_name: offer.gpu_name, reason: `hot ${hot} < ${hotWant}` });
      // Down: idle ready workers beyond the target are stopped into the cold tier.
      for (const v of idleReady(ctx)) {
        if (hot <= hotWant) break;
        actions.push({ kind: "stop", id: v.id, reason: `hot ${hot} > ${hotWant}` });
        hot--;
        coldLeft++;
      }
      // Cold tier: rent what is missing (it loads, then goes cold at a later tick); destroy the surplus.
      const coldNow = coldLeft + Math.max(0, hot - hotWant);
      for (let c = coldNow; c < coldWant && total < p.max_workers; c++, total++) actions.push({ kind: "create", gpu_name: offer.gpu_name, reason: `cold ${c} < ${coldWant}` });
      const surplus = coldLeft - coldWant;
      const stillCold = cold.filter((v) => !actions.some((a) => a.kind === "start" && a.id === v.id));
      for (let i = 0; i < surplus; i++) {
        const v = stillCold[stillCold.length - 1 - i];
        if (v) actions.push({ kind: "destroy", id: v.id, reason: `cold ${coldLeft} > ${coldWant}` });
      }
      return actions;
    },
  };
}
