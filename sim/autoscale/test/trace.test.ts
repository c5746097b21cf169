import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Prng } from "../prng.ts";
import { arrivalsFromShape } from "../servegen.ts";
import { parseAzureCsv, parseMooncakeJsonl, parseServeGenRates } from "../trace-files.ts";
import { DEFAULT_TRACE_DIR, loadTrace } from "../trace-source.ts";
import { scaleTrace } from "../trace.ts";

describe("trace files", () => {
  it("reads Azure's CSV: CRLF, 7 fractional digits, times from the first row", () => {
    const csv = "TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:17:03.9799600,4808,10\r\n2023-11-16 18:17:05.0319600,3180,8";
    expect(parseAzureCsv(csv)).toEqual([
      { at: 0, input: 4808, output: 10 },
      { at: expect.closeTo(1052, 6), input: 3180, output: 8 },
    ]);
  });

  it("spreads Mooncake's arrivals that share a whole second across it", () => {
    const jsonl = ['{"timestamp": 0, "input_length": 10, "output_length": 1, "hash_ids": [0]}', '{"timestamp": 0, "input_length": 20, "output_length": 2}', '{"timestamp": 1500, "input_length": 30, "output_length": 3}'].join("\n");
    expect(parseMooncakeJsonl(jsonl).map((r) => r.at)).toEqual([0, 500, 1500]);
  });

  it("sums nothing and keeps one model's ServeGen windows in order", () => {
    const csv = "window_start_s,model,rate_sum,active_clients,clients,cv_rate_weighted\n600,m-large,2,1,1,1\n0,m-large,1,1,1,1\n0,m-mid,9,1,1,1";
    expect(parseServeGenRates(csv, "m-large")).toEqual({ model: "m-large", windowS: 600, rates: [1, 2] });
  });
});

describe("generated and scaled traces", () => {
  it("generates ServeGen arrivals at the requested mean rate, filling data gaps", () => {
    const shape = { model: "x", windowS: 600, rates: [1, 0, 3, 2] };
    const reqs = arrivalsFromShape(shape, { startWindow: 0, windows: 4, meanRate: 2 }, [[100, 10]], new Prng("sg"));
    // 4 windows of 600 s at 2/s on average: 4,800 expected (Poisson: a few % either way).
    expect(reqs.length).toBeGreaterThan(4600);
    expect(reqs.length).toBeLessThan(5000);
    // The gap (window 1) takes its neighbours' mean, so it is not empty.
    expect(reqs.filter((r) => r.at >= 600_000 && r.at < 1_200_000).length).toBeGreaterThan(800);
  });

  it("compresses time and multiplies load", () => {
    const t = { name: "t", requests: [{ at: 1000, input: 1, output: 1 }, { at: 3000, input: 1, output: 1 }], durationMs: 4000, origin: "x", synthetic: true };
    expect(scaleTrace(t, { timeScale: 2 }, new Prng("s")).requests.map((r) => r.at)).toEqual([500, 1500]);
    expect(scaleTrace(t, { loadScale: 3 }, new Prng("s")).requests).toHaveLength(6);
  });
});

describe("trace sources", () => {
  it("says where the public dataset lives and falls back to a seeded synthetic trace when a file is missing", () => {
    const dir = mkdtempSync(join(tmpdir(), "no-traces-"));
    const a = loadTrace("azure-code", { dir }, new Prng("x"));
    const b = loadTrace("azure-code", { dir }, new Prng("x"));
    expect(a.note).toContain("https://github.com/Azure/AzurePublicDataset");
    expect(a.trace.synthetic).toBe(true);
    expect(a.trace.requests).toEqual(b.trace.requests);
    // Same shape class as the real trace: ~2.57 req/s over 57 minutes, about a fifth of minutes idle.
    const rate = a.trace.requests.length / (a.trace.durationMs / 1000);
    expect(rate).toBeGreaterThan(1.5);
    expect(rate).toBeLessThan(4);
  });

  it("finds the real files in ../shared/traces/ by default", () => {
    const { trace, note } = loadTrace("mooncake-conversation", {}, new Prng("x"));
    expect(DEFAULT_TRACE_DIR).toMatch(/shared[/\\]traces$/);
    expect(note).toBeNull();
    expect(trace.requests).toHaveLength(12_031);
  });
});
