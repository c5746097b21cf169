// What Vast's documentation describes (PROTOCOL.md §5): every minute, hot capacity = load ÷
// target_util; a cold tier of stopped-but-loaded workers sized by cold_mult × load (at least
// cold_workers); scale up by restarting cold workers first, then renting; scale down by stopping
// (busy workers drain first). Clients poll /route/ with the SDK's backoff; nothing is held at the
// edge, no fast path. Vast's exact formula is not public: this is the documented behaviour, read literally.
import { bestPerfPerDollar, type ScalingAction, type ScalingPolicy } from "./policy.ts";
import { bucketRate, drainingWorkers, finishDrains, isBooting, isServing, scaleDown } from "./fleet-helpers.ts";

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
      const hotWant = Math.min(p.max_workers, Math.ceil(Math.max(p.min_load, load / p.target_util) / perf - 1e-9));
      const coldCap = Math.max(p.min_cold_load, p.cold_mult * load);
      const coldWant = Math.max(p.cold_workers, Math.ceil(coldCap / perf - 1e-9) - hotWant);

      const actions: ScalingAction[] = [];
      const draining = drainingWorkers(ctx);
      const cold = ctx.instances.filter((v) => v.state === "stopped").sort((a, b) => b.since - a.since); // most recently stopped first
      let hot = ctx.instances.filter((v) => isServing(v) || isBooting(v)).length;
      let total = ctx.instances.length;
      let coldNow = cold.length + draining.length;

      // Up: put draining workers back (instant), restart cold ones (seconds), then rent (minutes).
      for (const v of draining) {
        if (hot >= hotWant) break;
        actions.push({ kind: "undrain", id: v.id, reason: `hot ${hot} < ${hotWant}` });
        hot++;
        coldNow--;
      }
      const started = new Set<string>();
      for (const v of cold) {
        if (hot >= hotWant) break;
        actions.push({ kind: "start", id: v.id, reason: `hot ${hot} < ${hotWant}` });
        started.add(v.id);
        hot++;
        coldNow--;
      }
      for (; hot < hotWant && total < p.max_workers; hot++, total++) actions.push({ kind: "create", gpu_name: offer.gpu_name, reason: `hot ${hot} < ${hotWant}` });
      // Down: stop into the cold tier, draining busy workers first.
      if (hot > hotWant) coldNow += scaleDown(ctx, hot - hotWant, "stop", actions, `hot ${hot} > ${hotWant}`);
      finishDrains(ctx, "stop", actions);
      // Cold tier: rent what is missing (it loads, then goes cold at a later tick); destroy the surplus.
      const booting = ctx.instances.filter(isBooting).length;
      const coldComing = coldNow + Math.max(0, Math.min(booting, hot - hotWant));
      for (let c = coldComing; c < coldWant && total < p.max_workers; c++, total++) actions.push({ kind: "create", gpu_name: offer.gpu_name, reason: `cold ${c} < ${coldWant}` });
      const spare = cold.filter((v) => !started.has(v.id));
      for (let i = 0; i < coldNow - coldWant && i < spare.length; i++) {
        const v = spare[spare.length - 1 - i]!;
        actions.push({ kind: "destroy", id: v.id, reason: `cold ${coldNow} > ${coldWant}` });
      }
      return actions;
    },
  };
}
