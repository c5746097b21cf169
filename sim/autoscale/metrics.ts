// Per-policy results of a run. SLO: a request meets it when its wait before service (at the edge
// and in the worker's queue, i.e. arrival → batch slot) is ≤ 5 s and its time to first token is
// ≤ 30 s. Every measured request counts: those that met a cold start, were retried, or failed
// (a failed request misses the SLO and counts as waiting the client's whole timeout).
import type { SimResult } from "./simulation.ts";

export const SLO = { maxWaitS: 5, maxTtftS: 30 } as const;

export interface PolicyMetrics {
  cost_usd: number;
  gpu_cost_usd: number;
  storage_cost_usd: number;
  gpu_hours: number;
  slo_attainment: number;
  p50_wait_s: number;
  p99_wait_s: number;
  p99_ttft_s: number;
  failed: number;
  requests: number;
  /** Boots paid in the window: fresh creates plus restarts of stopped instances. */
  cold_starts: number;
  creates: number;
  restarts: number;
  failed_restarts: number;
  /** GPU-billed hours with no request on the box (loading, restarting, or ready and idle). */
  idle_gpu_hours: number;
  /** Requests that found no worker to route to at least once. */
  met_cold_start: number;
}

/** Nearest-rank percentile of an already sorted array (core's `quantile` copies and sorts: too slow for a million waits). */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(r: SimResult, clientTimeoutS = 600): PolicyMetrics {
  const n = r.requests.length;
  const waits = new Float64Array(n);
  const ttfts = new Float64Array(n);
  let met = 0;
  let failed = 0;
  let cold = 0;
  r.requests.forEach((req, i) => {
    if (req.metColdStart) cold++;
    if (req.failed || Number.isNaN(req.admittedAt)) {
      failed++;
      waits[i] = ttfts[i] = clientTimeoutS;
      return;
    }
    const wait = (req.admittedAt - req.at) / 1000;
    const ttft = (req.firstTokenAt - req.at) / 1000;
    waits[i] = wait;
    ttfts[i] = ttft;
    if (wait <= SLO.maxWaitS && ttft <= SLO.maxTtftS) met++;
  });
  waits.sort();
  ttfts.sort();
  let gpuCost = 0;
  let storageCost = 0;
  let gpuMs = 0;
  for (const inst of r.instances) {
    gpuCost += (inst.gpuMs / 3_600_000) * inst.gpu.dph;
    storageCost += (inst.storageMs / 3_600_000) * inst.gpu.storage_dph;
    gpuMs += inst.gpuMs;
  }
  return {
    cost_usd: gpuCost + storageCost,
    gpu_cost_usd: gpuCost,
    storage_cost_usd: storageCost,
    gpu_hours: gpuMs / 3_600_000,
    slo_attainment: n === 0 ? 1 : met / n,
    p50_wait_s: percentile(waits, 0.5),
    p99_wait_s: percentile(waits, 0.99),
    p99_ttft_s: percentile(ttfts, 0.99),
    failed,
    requests: n,
    cold_starts: r.boots.creates + r.boots.restarts,
    creates: r.boots.creates,
    restarts: r.boots.restarts,
    failed_restarts: r.boots.failedRestarts,
    idle_gpu_hours: Math.max(0, gpuMs - r.busyMs) / 3_600_000,
    met_cold_start: cold,
  };
}
