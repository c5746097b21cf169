// Seeded stand-ins for the public traces, used only when a trace file is missing: same mean rate,
// burstiness class and token-length medians/p99 as the published shape statistics
// (../shared/traces/README.md), so that the benchmark runs on any machine. They are not the traces.
import { sigmaFromP99, type Prng } from "./prng.ts";
import type { RateShape } from "./trace-files.ts";
import type { TraceRequest } from "./trace.ts";

const MAX_CONTEXT = 126_000;

function lengths(rng: Prng, inMedian: number, inP99: number, outMedian: number, outP99: number): [number, number] {
  const input = Math.min(MAX_CONTEXT, Math.max(1, Math.round(rng.logNormal(inMedian, sigmaFromP99(inMedian, inP99)))));
  const output = Math.max(1, Math.round(rng.logNormal(outMedian, sigmaFromP99(outMedian, outP99))));
  return [input, output];
}

export const azureLengths = (rng: Prng) => lengths(rng, 1469, 7436, 13, 251);
export const mooncakeLengths = (rng: Prng) => lengths(rng, 6909, 85_400, 350, 1119);

/**
 * Azure-code-like: 57.3 minutes, 2.57 req/s on average, about one minute in five empty, and within
 * busy minutes a Poisson background (1.75/s) plus bursts (one every 40 s on average, ~60 requests
 * within two seconds) — the 10-s peaks then reach ~10× the mean, as in the real trace.
 */
export function syntheticAzure(rng: Prng): TraceRequest[] {
  const out: TraceRequest[] = [];
  const minutes = 57.3;
  for (let m = 0; m < Math.ceil(minutes); m++) {
    if (rng.next() < 12 / 57) continue;
    const start = m * 60_000;
    const end = Math.min((m + 1) * 60_000, minutes * 60_000);
    for (let t = start + rng.exponential(1000 / 1.75); t < end; t += rng.exponential(1000 / 1.75)) out.push(at(t, azureLengths(rng)));
    for (let t = start + rng.exponential(40_000); t < end; t += rng.exponential(40_000)) {
      const n = 1 + Math.floor(rng.exponential(60));
      for (let k = 0; k < n; k++) out.push(at(t + rng.uniform(0, 2000), azureLengths(rng)));
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

/** Mooncake-conversation-like: 59 minutes of Poisson arrivals at 3.40/s, rate ±15 % over 20 minutes. */
export function syntheticMooncake(rng: Prng): TraceRequest[] {
  const out: TraceRequest[] = [];
  const end = 59 * 60_000;
  const peak = 3.4 * 1.15;
  for (let t = rng.exponential(1000 / peak); t < end; t += rng.exponential(1000 / peak)) {
    const rate = 3.4 * (1 + 0.15 * Math.sin((2 * Math.PI * t) / 1_200_000));
    if (rng.next() * peak <= rate) out.push(at(t, mooncakeLengths(rng)));
  }
  return out;
}

/** A 14-day shape like ServeGen m-large: daily peak/trough about 3×, daily means varying 105–280. */
export function syntheticServeGenShape(rng: Prng): RateShape {
  const rates: number[] = [];
  for (let day = 0; day < 14; day++) {
    const level = rng.uniform(105, 280);
    for (let w = 0; w < 144; w++) {
      const hour = w / 6;
      rates.push(level * (1 + 0.5 * Math.sin((2 * Math.PI * (hour - 9)) / 24)) * (1 + 0.1 * rng.normal()));
    }
  }
  return { model: "m-large (synthetic)", windowS: 600, rates: rates.map((r) => Math.max(1, r)) };
}

function at(t: number, [input, output]: [number, number]): TraceRequest {
  return { at: t, input, output };
}
