// A request trace as the simulator replays it, and the time- and load-scale transforms.
// Workload units are Vast's for LLMs: cost = input + output tokens.
import type { Prng } from "./prng.ts";

export interface TraceRequest {
  /** ms since the trace's start. */
  at: number;
  input: number;
  output: number;
}

export interface Trace {
  name: string;
  /** Sorted by `at`. */
  requests: TraceRequest[];
  /** Length of the window the trace covers, ms (≥ the last arrival). */
  durationMs: number;
  /** Where it came from: a file path, or what the synthetic stand-in imitates. */
  origin: string;
  synthetic: boolean;
}

export function costOf(r: TraceRequest): number {
  return r.input + r.output;
}

export interface ScaleOptions {
  /** > 1 compresses time (2: the trace runs in half the time, at twice the rate). */
  timeScale?: number;
  /** Multiplies the arrival rate: < 1 thins requests, > 1 adds copies (see below). */
  loadScale?: number;
}

/**
 * Time scale divides every timestamp. Load scale keeps each request with probability `s` when
 * s < 1; above 1 each request appears ⌊s⌋ times plus once more with probability s − ⌊s⌋, each extra
 * copy shifted by up to one second so that copies are distinct arrivals rather than identical
 * twins (a burst stays a burst; a single request does not become a synchronous pair).
 */
export function scaleTrace(trace: Trace, options: ScaleOptions, rng: Prng): Trace {
  const timeScale = options.timeScale ?? 1;
  const loadScale = options.loadScale ?? 1;
  if (!(timeScale > 0) || !(loadScale > 0)) throw new Error("time and load scale must be positive");
  if (timeScale === 1 && loadScale === 1) return trace;
  const out: TraceRequest[] = [];
  for (const r of trace.requests) {
    const at = r.at / timeScale;
    const whole = Math.floor(loadScale);
    const copies = whole + (rng.next() < loadScale - whole ? 1 : 0);
    for (let k = 0; k < copies; k++) out.push({ at: k === 0 ? at : at + rng.uniform(0, 1000), input: r.input, output: r.output });
  }
  out.sort((a, b) => a.at - b.at);
  const label = [timeScale !== 1 ? `time×1/${timeScale}` : "", loadScale !== 1 ? `load×${loadScale}` : ""].filter(Boolean).join(", ");
  return { ...trace, name: trace.name, requests: out, durationMs: trace.durationMs / timeScale, origin: `${trace.origin} (${label})` };
}

/** The first `ms` of a trace (the warm-up replay uses it). */
export function headOf(trace: Trace, ms: number): TraceRequest[] {
  const out: TraceRequest[] = [];
  for (const r of trace.requests) {
    if (r.at >= ms) break;
    out.push(r);
  }
  return out;
}
