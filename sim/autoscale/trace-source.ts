// Where traces come from: the public files in ../shared/traces/ (never copied into the repo: their
// licences and sources are in that README), or, when a file is missing, a seeded synthetic stand-in
// with the same shape statistics and a note saying where the real dataset lives.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Prng } from "./prng.ts";
import { arrivalsFromShape } from "./servegen.ts";
import { azureLengths, mooncakeLengths, syntheticAzure, syntheticMooncake, syntheticServeGenShape } from "./synthetic-trace.ts";
import { parseAzureCsv, parseMooncakeJsonl, parseServeGenRates, type RateShape } from "./trace-files.ts";
import type { Trace, TraceRequest } from "./trace.ts";

/** `../shared/traces/` next to the repository (CI has it too). */
export const DEFAULT_TRACE_DIR = resolve(fileURLToPath(new URL("../../../shared/traces/", import.meta.url)));

export const TRACE_KINDS = ["azure-code", "mooncake-conversation", "servegen-m-large"] as const;
export type TraceKind = (typeof TRACE_KINDS)[number];

const FILES = {
  "azure-code": {
    file: "azure_llm_2023_code.csv",
    where: "https://github.com/Azure/AzurePublicDataset — data/AzureLLMInferenceTrace_code.csv (CC-BY 4.0)",
  },
  "mooncake-conversation": {
    file: "mooncake_fast25_conversation.jsonl",
    where: "https://github.com/kvcache-ai/Mooncake — FAST25-release/traces/conversation_trace.jsonl (Apache-2.0)",
  },
  "servegen-m-large": {
    file: "servegen_rate_10min.csv",
    where: "https://github.com/alibaba/ServeGen — data/language/m-large/chunk-*-trace.csv, summed per window (Apache-2.0)",
  },
} as const;

export interface TraceSourceOptions {
  /** Directory holding the three files (default `../shared/traces/`). */
  dir?: string;
  /** An explicit file for this trace (overrides `dir`). */
  path?: string;
  /** ServeGen: which days of the 14, and the mean rate the shape is rescaled to. */
  servegen?: { startDay: number; days: number; meanRate: number };
}

export interface LoadedTrace {
  trace: Trace;
  /** Set when a file was missing and a synthetic stand-in was used. */
  note: string | null;
}

export function loadTrace(kind: TraceKind, options: TraceSourceOptions, rng: Prng): LoadedTrace {
  const dir = options.dir ?? DEFAULT_TRACE_DIR;
  const path = options.path ?? resolve(dir, FILES[kind].file);
  const missing = (what: string) =>
    `${what} not found at ${path}; the public dataset lives at ${FILES[kind].where}. Using a seeded synthetic trace with the same shape statistics.`;
  switch (kind) {
    case "azure-code": {
      if (!existsSync(path)) return synthetic(kind, syntheticAzure(rng.fork("synthetic")), 57.3 * 60_000, missing("azure trace"));
      const requests = parseAzureCsv(readFileSync(path, "utf8"));
      return { trace: fromFile(kind, requests, path), note: null };
    }
    case "mooncake-conversation": {
      if (!existsSync(path)) return synthetic(kind, syntheticMooncake(rng.fork("synthetic")), 59 * 60_000, missing("mooncake trace"));
      const requests = parseMooncakeJsonl(readFileSync(path, "utf8"));
      return { trace: fromFile(kind, requests, path), note: null };
    }
    case "servegen-m-large": {
      const sg = options.servegen ?? { startDay: 0, days: 2, meanRate: 2 };
      const notes: string[] = [];
      let shape: RateShape;
      if (existsSync(path)) shape = parseServeGenRates(readFileSync(path, "utf8"), "m-large");
      else {
        notes.push(missing("servegen rates"));
        shape = syntheticServeGenShape(rng.fork("synthetic-shape"));
      }
      const pool = lengthPool(dir, rng.fork("synthetic-lengths"), notes);
      const perDay = 86_400 / shape.windowS;
      const requests = arrivalsFromShape(shape, { startWindow: sg.startDay * perDay, windows: sg.days * perDay, meanRate: sg.meanRate }, pool, rng.fork("arrivals"));
      const trace: Trace = {
        name: kind,
        requests,
        durationMs: sg.days * 86_400_000,
        origin: `${existsSync(path) ? path : "synthetic shape"}: days ${sg.startDay}–${sg.startDay + sg.days}, mean ${sg.meanRate} req/s, Poisson, lengths from Azure code + Mooncake`,
        synthetic: !existsSync(path),
      };
      return { trace, note: notes.length ? notes.join(" ") : null };
    }
  }
}

/**
 * (input, output) pairs for generated arrivals: every request of the Azure code and Mooncake files
 * (a chat model serving both code completion and conversation), or synthetic draws if missing.
 */
function lengthPool(dir: string, rng: Prng, notes: string[]): Array<[number, number]> {
  const pool: Array<[number, number]> = [];
  const azure = resolve(dir, FILES["azure-code"].file);
  const moon = resolve(dir, FILES["mooncake-conversation"].file);
  if (existsSync(azure)) for (const r of parseAzureCsv(readFileSync(azure, "utf8"))) pool.push([r.input, r.output]);
  else for (let i = 0; i < 8819; i++) pool.push(azureLengths(rng));
  if (existsSync(moon)) for (const r of parseMooncakeJsonl(readFileSync(moon, "utf8"))) pool.push([r.input, r.output]);
  else for (let i = 0; i < 12031; i++) pool.push(mooncakeLengths(rng));
  if (!existsSync(azure) || !existsSync(moon)) notes.push("token lengths for ServeGen arrivals drawn from synthetic length models (trace files missing).");
  return pool;
}

function fromFile(kind: TraceKind, requests: TraceRequest[], path: string): Trace {
  const last = requests[requests.length - 1]?.at ?? 0;
  return { name: kind, requests, durationMs: Math.ceil((last + 1) / 1000) * 1000, origin: path, synthetic: false };
}

function synthetic(kind: TraceKind, requests: TraceRequest[], durationMs: number, note: string): LoadedTrace {
  return { trace: { name: kind, requests, durationMs, origin: `synthetic stand-in for ${FILES[kind].where}`, synthetic: true }, note };
}
