// One trace through every policy in the same run (same requests, same marketplace model, same seed),
// plus the oracle bound on the same window.
import type { EndpointParams } from "../../core/endpoint.ts";
import { fits, GPU_TYPES, type GpuType } from "./gpu-model.ts";
import { DEFAULT_MARKET, minBilledBootS, type MarketModel } from "./marketplace.ts";
import { summarize, type PolicyMetrics } from "./metrics.ts";
import { cheapestOracle, type OracleBound } from "./oracle.ts";
import type { ScalingPolicy } from "./policies/policy.ts";
import { expectedPerf, simulate, type SimResult } from "./simulation.ts";
import type { TimelineSeries } from "./timeline.ts";
import type { Trace } from "./trace.ts";

export interface PolicySetup {
  trace: Trace;
  gpus: readonly GpuType[];
  perf: ReadonlyMap<string, number>;
}

export interface PolicyRun {
  name: string;
  metrics: PolicyMetrics;
  timeline: TimelineSeries;
  gpuTypes: string[];
  events: number;
  wallMs: number;
}

export interface TraceRun {
  trace: Trace;
  gpus: readonly GpuType[];
  perf: ReadonlyMap<string, number>;
  oracle: OracleBound;
  runs: PolicyRun[];
}

export interface RunOptions {
  seed: string;
  market?: MarketModel;
  params?: Partial<EndpointParams>;
  warmupMs?: number;
  sampleMs?: number;
  gpus?: readonly GpuType[];
  /** Called after each policy (progress lines). */
  onPolicy?: (run: PolicyRun) => void;
}

/** The GPU types an endpoint serving this trace may rent: those whose KV cache holds its longest request. */
export function usableGpus(trace: Trace, gpus: readonly GpuType[] = GPU_TYPES): GpuType[] {
  return gpus.filter((g) => trace.requests.every((r) => fits(g, r)));
}

export function runTrace(trace: Trace, makePolicies: (setup: PolicySetup) => ScalingPolicy[], o: RunOptions): TraceRun {
  const gpus = usableGpus(trace, o.gpus);
  if (gpus.length === 0) throw new Error(`no GPU type can hold every request of ${trace.name}`);
  const perf = expectedPerf(gpus, trace.requests);
  const market = o.market ?? DEFAULT_MARKET;
  const runs: PolicyRun[] = [];
  for (const policy of makePolicies({ trace, gpus, perf })) {
    const started = performance.now();
    const result: SimResult = simulate({ trace, policy, gpus, perf, market, seed: o.seed, params: o.params, warmupMs: o.warmupMs, sampleMs: o.sampleMs });
    const run: PolicyRun = {
      name: policy.name,
      metrics: summarize(result),
      timeline: result.timeline.series,
      gpuTypes: [...new Set(result.instances.filter((i) => i.gpuMs > 0).map((i) => i.gpu.name))],
      events: result.events,
      wallMs: performance.now() - started,
    };
    runs.push(run);
    o.onPolicy?.(run);
  }
  const oracle = cheapestOracle(trace.requests, trace.durationMs, gpus, minBilledBootS(market));
  return { trace, gpus, perf, oracle, runs };
}
