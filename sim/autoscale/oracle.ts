// The oracle: a lower bound on the GPU cost of any policy that serves every request of the window
// within the SLO on one GPU type, knowing the future perfectly. Derivation: docs/autoscale.md,
// "The oracle". In short, cost ≥ price × max(P + Wx, W) where
//  - P (presence): a ready worker must exist within 5 s of every arrival; between such moments a
//    worker is either kept (paying the gap) or a new one boots (paying ≥ B billed seconds). Arrivals
//    ≤ 5 s apart form clusters that need a worker on throughout; a gap between clusters costs
//    min(gap, B).
//  - Wx (extra workers): per second, the fewest workers beyond the first whose throughput covers
//    the work that must be done by the end of that second (fluid, earliest deadline first, each
//    resource of the worker — prefill engine, batch slots, KV cache — checked). Lazy: work is done
//    as late as its deadline allows, which minimises the cumulative worker-seconds at every moment.
//  - W: the same with no free first worker (the pure fluid bound).
import { decodeSeconds, kvTokensOf, prefillSeconds, type GpuType } from "./gpu-model.ts";
import { SLO } from "./metrics.ts";
import type { TraceRequest } from "./trace.ts";

export interface OracleInput {
  /** Measured requests, `at` in ms from the window's start, sorted. */
  requests: readonly TraceRequest[];
  windowMs: number;
  gpu: GpuType;
  /** Shortest GPU-billed boot (s): any worker that becomes ready pays at least this. */
  minBootS: number;
  maxWaitS?: number;
  maxTtftS?: number;
}

export interface OracleBound {
  gpu_name: string;
  cost_usd: number;
  gpu_hours: number;
  /** Worker-seconds of each term. */
  presenceS: number;
  extraS: number;
  fluidS: number;
  /** Boots the presence term charges (gaps closed by a reboot rather than kept). */
  reboots: number;
  /** Workers the bound charges, averaged per `profileStepS` (for the pictures). */
  profile: number[];
  profileStepS: number;
}

export function oracleBound(input: OracleInput, profileStepS = 10): OracleBound {
  const D = (input.maxWaitS ?? SLO.maxWaitS) * 1000;
  const H = input.windowMs;
  const B = input.minBootS * 1000;
  const seconds = Math.ceil(H / 1000);
  const on = new Float64Array(seconds); // presence: fraction of each second the first worker is charged

  // ---- presence
  const arr = input.requests.filter((r) => r.at < H).map((r) => r.at);
  let presenceMs = 0;
  let reboots = 0;
  const charge = (from: number, to: number) => {
    for (let t = Math.max(0, from); t < Math.min(to, H); ) {
      const s = Math.floor(t / 1000);
      const end = Math.min(to, H, (s + 1) * 1000);
      on[s]! += (end - t) / 1000;
      t = end;
    }
  };
  const withinCluster = Math.min(1, B / (2 * D));
  let i = 0;
  let prevLast: number | null = null;
  while (i < arr.length) {
    const first = arr[i]!;
    let last = first;
    while (i + 1 < arr.length && arr[i + 1]! - last <= D) last = arr[++i]!;
    i++;
    if (prevLast !== null && prevLast >= B && first + D <= H) {
      const gap = first - prevLast - D;
      if (gap > 0) {
        presenceMs += Math.min(gap, B);
        if (gap > B) reboots++;
        else charge(prevLast + D, first);
      }
    }
    // Inside a cluster consecutive service moments are ≤ 2D apart, and each gap g costs at least
    // min(g, B) ≥ g · min(1, B / 2D): kept throughout when a boot costs more than 2D.
    const from = Math.max(first + D, B);
    const to = Math.min(last, H);
    if (to > from) {
      presenceMs += (to - from) * withinCluster;
      charge(from, to);
    }
    prevLast = last;
  }

  // ---- fluid terms
  const extra = lazyFluid(input, seconds, 1, D);
  const fluid = lazyFluid(input, seconds, 0, D);
  const extraS = sum(extra);
  const fluidS = sum(fluid);
  const presenceS = presenceMs / 1000;
  const useExtra = presenceS + extraS >= fluidS;
  const billedS = useExtra ? presenceS + extraS : fluidS;

  const profile: number[] = [];
  for (let s = 0; s < seconds; s += profileStepS) {
    let w = 0;
    const n = Math.min(profileStepS, seconds - s);
    for (let k = s; k < s + n; k++) w += useExtra ? on[k]! + extra[k]! : fluid[k]!;
    profile.push(w / n);
  }
  return {
    gpu_name: input.gpu.name,
    cost_usd: (billedS / 3600) * input.gpu.dph,
    gpu_hours: billedS / 3600,
    presenceS,
    extraS,
    fluidS,
    reboots,
    profile,
    profileStepS,
  };
}

/** The cheapest bound over the GPU types a policy may rent (each policy rents one type). */
export function cheapestOracle(requests: readonly TraceRequest[], windowMs: number, gpus: readonly GpuType[], minBootS: number): OracleBound {
  let best: OracleBound | undefined;
  for (const gpu of gpus) {
    const b = oracleBound({ requests, windowMs, gpu, minBootS });
    if (!best || b.cost_usd < best.cost_usd) best = b;
  }
  if (!best) throw new Error("no GPU types");
  return best;
}

interface Item {
  deadline: number;
  left: number;
}

/**
 * Per second t (fractional workers): the fewest workers beyond `baseline` such that every piece of
 * work due by t+1 is done; then that capacity runs earliest-deadline-first, work-conserving.
 * Releases are rounded down and deadlines up to whole seconds, which only loosens the bound.
 */
function lazyFluid(input: OracleInput, seconds: number, baseline: number, waitMs: number): Float64Array {
  const gpu = input.gpu;
  const ttftMs = (input.maxTtftS ?? SLO.maxTtftS) * 1000;
  const caps = [1, gpu.max_batch, gpu.kv_tokens];
  const heaps: Item[][] = [[], [], []];
  const out = new Float64Array(seconds);
  let next = 0;
  const reqs = input.requests;
  for (let t = 0; t < seconds; t++) {
    while (next < reqs.length && Math.floor(reqs[next]!.at / 1000) <= t) {
      const r = reqs[next++]!;
      const p = prefillSeconds(gpu, r);
      const slot = p + decodeSeconds(gpu, r);
      const slotDeadline = Math.ceil((r.at + waitMs + slot * 1000) / 1000);
      push(heaps[0]!, { deadline: Math.ceil((r.at + ttftMs) / 1000), left: p });
      push(heaps[1]!, { deadline: slotDeadline, left: slot });
      push(heaps[2]!, { deadline: slotDeadline, left: kvTokensOf(r) * slot });
    }
    // Work due by the end of this second, per resource: it all runs now.
    let need = 0;
    const due: number[] = [0, 0, 0];
    for (let k = 0; k < 3; k++) {
      const h = heaps[k]!;
      let d = 0;
      while (h.length > 0 && h[0]!.deadline <= t + 1) d += pop(h).left;
      due[k] = d;
      need = Math.max(need, d / caps[k]!);
    }
    const extra = Math.max(0, need - baseline);
    out[t] = extra;
    const workers = baseline + extra;
    for (let k = 0; k < 3; k++) {
      let spare = workers * caps[k]! - due[k]!;
      const h = heaps[k]!;
      while (spare > 1e-12 && h.length > 0) {
        const top = h[0]!;
        if (top.left <= spare) {
          spare -= top.left;
          pop(h);
        } else {
          top.left -= spare;
          spare = 0;
        }
      }
    }
  }
  return out;
}

function sum(a: Float64Array): number {
  let s = 0;
  for (const x of a) s += x;
  return s;
}

function push(h: Item[], item: Item): void {
  h.push(item);
  let i = h.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p]!.deadline <= item.deadline) break;
    h[i] = h[p]!;
    i = p;
  }
  h[i] = item;
}

function pop(h: Item[]): Item {
  const top = h[0]!;
  const last = h.pop()!;
  if (h.length > 0) {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && h[r]!.deadline < h[l]!.deadline ? r : l;
      if (h[c]!.deadline >= last.deadline) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
  return top;
}
