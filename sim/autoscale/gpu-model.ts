// What one GPU box does with requests, per GPU type, for one 8B-class model in bf16 (Llama-3.1-8B
// shaped: 16 GB of weights, 128 KiB of KV cache per token). A worker has `max_batch` slots; a
// request waits for a slot and for room in the KV cache (FIFO), then its prompt joins the prefill
// queue (one prompt at a time at `prefill_tps`: chunked prefill at full GPU), the first token comes
// out when its prefill ends, and the rest decode at `decode_tps` (per sequence, batch full).
// Rates do not speed up at low batch: conservative at light load, exact at the load that costs money.
// Sources and caveats of each figure: docs/autoscale.md, "Marketplace model".
import { costOf, type TraceRequest } from "./trace.ts";

export interface GpuType {
  /** Vast's `gpu_name`. */
  name: string;
  gpu_ram_gb: number;
  /** $/h while the GPU is billed (Vast: loading or ready). */
  dph: number;
  /** $/h for the instance's disk, billed from create to destroy (stopped included). */
  storage_dph: number;
  /** Prompt tokens per second. */
  prefill_tps: number;
  /** Output tokens per second per sequence, batch full. */
  decode_tps: number;
  max_batch: number;
  /** Tokens of KV cache that fit next to the weights. */
  kv_tokens: number;
}

/** 32 GB of disk (a worker group's default) at $0.15 per GB-month. */
const STORAGE_DPH = (32 * 0.15) / 730;

export const GPU_TYPES: readonly GpuType[] = [
  { name: "RTX 4090", gpu_ram_gb: 24, dph: 0.4, storage_dph: STORAGE_DPH, prefill_tps: 5_000, decode_tps: 35, max_batch: 32, kv_tokens: 46_000 },
  { name: "A100 80GB", gpu_ram_gb: 80, dph: 1.1, storage_dph: STORAGE_DPH, prefill_tps: 10_000, decode_tps: 28, max_batch: 64, kv_tokens: 410_000 },
  { name: "H100 80GB", gpu_ram_gb: 80, dph: 2.0, storage_dph: STORAGE_DPH, prefill_tps: 28_000, decode_tps: 40, max_batch: 64, kv_tokens: 410_000 },
];

export function gpuByName(types: readonly GpuType[], name: string): GpuType {
  const g = types.find((t) => t.name === name);
  if (!g) throw new Error(`unknown GPU type ${name}`);
  return g;
}

export function prefillSeconds(gpu: GpuType, r: TraceRequest): number {
  return r.input / gpu.prefill_tps;
}

export function decodeSeconds(gpu: GpuType, r: TraceRequest): number {
  return r.output / gpu.decode_tps;
}

/** KV tokens a request holds while it is in a slot. */
export function kvTokensOf(r: TraceRequest): number {
  return r.input + r.output;
}

/** Can this GPU ever hold the request? (Otherwise the endpoint's offer filter must exclude it.) */
export function fits(gpu: GpuType, r: TraceRequest): boolean {
  return kvTokensOf(r) <= gpu.kv_tokens;
}

/** Per-request means that set a GPU's sustained throughput on a given traffic mix. */
export interface TrafficMix {
  cost: number;
  prefillS: number;
  slotS: number;
  kvTokenS: number;
}

export function mixOf(gpu: GpuType, requests: readonly TraceRequest[]): TrafficMix {
  let cost = 0;
  let prefillS = 0;
  let slotS = 0;
  let kvTokenS = 0;
  for (const r of requests) {
    const p = prefillSeconds(gpu, r);
    const s = p + decodeSeconds(gpu, r);
    cost += costOf(r);
    prefillS += p;
    slotS += s;
    kvTokenS += kvTokensOf(r) * s;
  }
  const n = Math.max(1, requests.length);
  return { cost: cost / n, prefillS: prefillS / n, slotS: slotS / n, kvTokenS: kvTokenS / n };
}

/**
 * The `max_perf` a worker reports after its benchmark: workload units/s it sustains on this mix,
 * the tightest of its three resources (the prefill engine, the batch slots, the KV cache). The
 * simulated benchmark runs the endpoint's own traffic mix, as a well-chosen benchmark payload would.
 */
export function maxPerf(gpu: GpuType, mix: TrafficMix): number {
  const prefillBound = mix.cost / mix.prefillS;
  const slotBound = (gpu.max_batch * mix.cost) / mix.slotS;
  const kvBound = (gpu.kv_tokens * mix.cost) / mix.kvTokenS;
  return Math.min(prefillBound, slotBound, kvBound);
}
