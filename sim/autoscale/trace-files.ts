// Parsers for the three public trace files, in the formats ../shared/traces/README.md documents.

import type { TraceRequest } from "./trace.ts";

/**
 * Azure LLM inference trace 2023 (`TIMESTAMP,ContextTokens,GeneratedTokens`, CRLF, timestamps with
 * 7 fractional digits, no time zone: read as UTC). Arrival times become ms since the first row.
 */
export function parseAzureCsv(text: string): TraceRequest[] {
  const lines = text.split(/\r?\n/);
  const out: TraceRequest[] = [];
  let t0: number | null = null;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line) continue;
    const [stamp, input, output] = line.split(",");
    if (stamp === undefined || input === undefined || output === undefined) throw new Error(`azure csv line ${i + 1}: expected 3 columns`);
    const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d+))?$/.exec(stamp.trim());
    if (!m) throw new Error(`azure csv line ${i + 1}: bad timestamp ${stamp}`);
    const whole = Date.parse(`${m[1]}T${m[2]}Z`);
    const frac = m[3] ? Number(`0.${m[3]}`) * 1000 : 0;
    const at = whole + frac;
    t0 ??= at;
    out.push({ at: at - t0, input: Number(input), output: Number(output) });
  }
  return out.sort((a, b) => a.at - b.at);
}

/**
 * Mooncake FAST'25 conversation trace (JSON Lines: `timestamp` ms, `input_length`, `output_length`).
 * Timestamps are quantised to whole seconds for most rows (README §2): arrivals that share a second
 * are spread evenly across it, so that a second's requests do not all land in the same millisecond.
 */
export function parseMooncakeJsonl(text: string): TraceRequest[] {
  const rows: TraceRequest[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const o = JSON.parse(line) as { timestamp: number; input_length: number; output_length: number };
    rows.push({ at: o.timestamp, input: o.input_length, output: o.output_length });
  }
  rows.sort((a, b) => a.at - b.at);
  // Group rows stamped exactly on a whole second and spread them over [s, s + 1000).
  let i = 0;
  while (i < rows.length) {
    const at = rows[i]!.at;
    let j = i;
    while (j < rows.length && rows[j]!.at === at) j++;
    if (at % 1000 === 0 && j - i > 1) {
      for (let k = i; k < j; k++) rows[k]!.at = at + ((k - i) * 1000) / (j - i);
    }
    i = j;
  }
  return rows.sort((a, b) => a.at - b.at);
}

export interface RateShape {
  model: string;
  windowS: number;
  /** Aggregate request rate per window (relative: only the shape is used). */
  rates: number[];
}

/** ServeGen aggregate rates (`window_start_s,model,rate_sum,...`) for one model, in window order. */
export function parseServeGenRates(text: string, model: string): RateShape {
  const rows: Array<[number, number]> = [];
  const lines = text.split(/\r?\n/);
  for (let i = 1; i < lines.length; i++) {
    const cols = lines[i]!.split(",");
    if (cols.length < 3 || cols[1] !== model) continue;
    rows.push([Number(cols[0]), Number(cols[2])]);
  }
  if (rows.length === 0) throw new Error(`servegen: no rows for model ${model}`);
  rows.sort((a, b) => a[0] - b[0]);
  const windowS = rows.length > 1 ? rows[1]![0] - rows[0]![0] : 600;
  return { model, windowS, rates: rows.map((r) => r[1]) };
}
