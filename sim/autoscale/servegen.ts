// Arrivals generated from a rate shape (ServeGen's per-10-minute aggregate rates): a non-homogeneous
// Poisson process whose rate follows the shape rescaled to a chosen mean, with token lengths drawn
// from a pool of real (input, output) pairs. ServeGen releases rates, not requests (README §3).
import type { Prng } from "./prng.ts";
import type { RateShape } from "./trace-files.ts";
import type { TraceRequest } from "./trace.ts";

export interface ArrivalOptions {
  /** First window used (ServeGen m-large has 2,016: 14 days of 10 minutes). */
  startWindow: number;
  windows: number;
  /** Mean arrival rate over the chosen windows, requests/s. */
  meanRate: number;
}

/**
 * Windows where the shape is 0 are data gaps in ServeGen (every client reported 0), not idle
 * periods: they take the mean of the nearest non-zero neighbours. The rate is interpolated linearly
 * between window centres so that it does not jump every ten minutes. Arrivals are Poisson: the
 * aggregate of a hundred-odd independent clients is close to Poisson even when each is bursty.
 */
export function arrivalsFromShape(shape: RateShape, options: ArrivalOptions, lengths: ReadonlyArray<readonly [number, number]>, rng: Prng): TraceRequest[] {
  if (lengths.length === 0) throw new Error("servegen: empty length pool");
  const raw = shape.rates.slice(options.startWindow, options.startWindow + options.windows);
  if (raw.length === 0) throw new Error("servegen: no windows in range");
  const rates = fillGaps(raw);
  const mean = rates.reduce((s, r) => s + r, 0) / rates.length;
  const scale = options.meanRate / mean;
  const w = shape.windowS * 1000;
  const rateAt = (i: number) => (rates[Math.min(rates.length - 1, Math.max(0, i))] ?? 0) * scale;
  const out: TraceRequest[] = [];
  for (let i = 0; i < rates.length; i++) {
    // Within window i, the rate runs linearly between the centres of i−1, i and i+1.
    const lo = (rateAt(i - 1) + rateAt(i)) / 2;
    const mid = rateAt(i);
    const hi = (rateAt(i) + rateAt(i + 1)) / 2;
    const max = Math.max(lo, mid, hi);
    if (max <= 0) continue;
    let t = 0;
    for (;;) {
      t += rng.exponential(1000 / max);
      if (t >= w) break;
      const x = t / w;
      const rate = x < 0.5 ? lo + (mid - lo) * 2 * x : mid + (hi - mid) * (2 * x - 1);
      if (rng.next() * max > rate) continue; // thinning
      const pair = lengths[rng.int(lengths.length)]!;
      out.push({ at: i * w + t, input: pair[0], output: pair[1] });
    }
  }
  return out;
}

function fillGaps(rates: number[]): number[] {
  const out = rates.slice();
  for (let i = 0; i < out.length; i++) {
    if (out[i]! > 0) continue;
    let l = i - 1;
    while (l >= 0 && rates[l]! <= 0) l--;
    let r = i + 1;
    while (r < rates.length && rates[r]! <= 0) r++;
    const near = [l >= 0 ? rates[l] : undefined, r < rates.length ? rates[r] : undefined].filter((x): x is number => x !== undefined);
    out[i] = near.length ? near.reduce((s, x) => s + x, 0) / near.length : 0;
  }
  return out;
}
