// A toy GPU and market whose numbers make results computable by hand, and small policies for tests.
import type { GpuType } from "../gpu-model.ts";
import type { MarketModel } from "../marketplace.ts";
import type { ScalingAction, ScalingPolicy } from "../policies/policy.ts";
import { EPOCH } from "../simulation.ts";
import type { Trace, TraceRequest } from "../trace.ts";

/** 1,000 prompt tokens/s, 10 output tokens/s, one request at a time, $3.60/h (a tenth of a cent per second). */
export const TOY: GpuType = { name: "toy", gpu_ram_gb: 80, dph: 3.6, storage_dph: 0.36, prefill_tps: 1000, decode_tps: 10, max_batch: 1, kv_tokens: 1_000_000 };

const fixed = (s: number) => ({ median: s, sigma: 0, min: s, max: s });

/** Create 10 s (not billed) + load 10 s (billed); restart 5 s; restarts fail with `failure` probability. */
export function toyMarket(failure = 0): MarketModel {
  return { createS: fixed(10), loadS: fixed(10), restartS: fixed(5), restartFailure: () => failure };
}

export function trace(requests: Array<[atS: number, input: number, output: number]>, durationS: number): Trace {
  const rs: TraceRequest[] = requests.map(([at, input, output]) => ({ at: at * 1000, input, output }));
  return { name: "toy", requests: rs, durationMs: durationS * 1000, origin: "test", synthetic: true };
}

/** Keeps `count` instances of `gpu` (rented at its first tick). */
export function fixedFleet(count: number, gpu = TOY.name, clients: "edge" | "poll" = "edge"): ScalingPolicy {
  return {
    name: `fixed-${count}`,
    clients,
    tickMs: 60_000,
    scaleNow: false,
    decide(ctx) {
      const out: ScalingAction[] = [];
      for (let i = ctx.instances.length; i < count; i++) out.push({ kind: "create", gpu_name: gpu });
      return out;
    },
  };
}

/** Issues each action at the first tick at or after `atS` seconds from the window's start. */
export function scripted(steps: Array<[atS: number, action: ScalingAction]>, tickMs = 1000): ScalingPolicy {
  const left = [...steps];
  return {
    name: "scripted",
    clients: "edge",
    tickMs,
    scaleNow: false,
    decide(ctx) {
      const due = left.filter(([at]) => EPOCH + at * 1000 <= ctx.now);
      for (const d of due) left.splice(left.indexOf(d), 1);
      return due.map(([, a]) => a);
    },
  };
}
