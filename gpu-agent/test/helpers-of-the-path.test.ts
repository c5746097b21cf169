// Small pieces of the path with their own rules: the forwarded query, the benchmark's arithmetic and
// cache, the log tail, the backoff.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { backoffDelay } from "../src/backoff.ts";
import { backendPath } from "../src/model-call.ts";
import { LogTail } from "../src/model-watch.ts";
import { measure, readBenchCache, writeBenchCache } from "../src/perf-benchmark.ts";

const dir = mkdtempSync(join(tmpdir(), "agent-helpers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("forwarding", () => {
  it.each([
    ["/v1/completions", "/v1/completions"],
    ["/v1/completions?api_key=SECRET", "/v1/completions"],
    ["/generate?api_key=SECRET&x=1", "/generate?x=1"],
    ["/generate?x=1", "/generate?x=1"],
  ])("%s reaches the model server as %s (the endpoint key never does)", (url, path) => {
    expect(backendPath(url)).toBe(path);
  });
});

describe("benchmark", () => {
  it("max_perf is the best round's workload per second; failed requests count for nothing", async () => {
    let n = 0;
    const r = await measure(async () => (n++ % 4 === 3 ? 0 : 10), { rounds: 2, concurrency: 3, seconds: 0.05 });
    expect(r.rounds).toHaveLength(2);
    expect(r.max_perf).toBe(Math.max(...r.rounds));
    expect(r.failures).toBe(Math.floor(r.requests / 4));
    expect(r.max_perf).toBeGreaterThan(0);
  });

  it("fails when nothing succeeds, rather than reporting a capacity of 0", async () => {
    await expect(measure(async () => 0, { rounds: 1, concurrency: 2, seconds: 0.01 })).rejects.toThrow(/none of/);
  });

  it("the cache answers only for its own key and ignores a corrupt file", async () => {
    const entry = { version: 1 as const, key: "k1", max_perf: 12.5, rounds: [12.5], measured_at: "2026-01-01T00:00:00Z" };
    await writeBenchCache(dir, entry);
    expect(await readBenchCache(dir, "k1")).toEqual(entry);
    expect(await readBenchCache(dir, "k2")).toBeNull();
    writeFileSync(join(dir, "benchmark.json"), '{"version":1,"key":"k1","max_perf":-3}');
    expect(await readBenchCache(dir, "k1")).toBeNull();
  });
});

describe("log tail", () => {
  it("returns whole new lines only, across partial writes, and starts over after truncation", async () => {
    const path = join(dir, "model.log");
    const tail = new LogTail(path);
    expect(await tail.poll()).toEqual([]); // not there yet
    writeFileSync(path, "one\ntw");
    expect(await tail.poll()).toEqual(["one"]);
    appendFileSync(path, "o\r\nthree\n");
    expect(await tail.poll()).toEqual(["two", "three"]);
    writeFileSync(path, "new\n");
    expect(await tail.poll()).toEqual(["new"]);
  });
});

describe("backoff", () => {
  it("grows exponentially to its cap, with bounded jitter", () => {
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(a, 500, 4000, () => 0.5))).toEqual([500, 1000, 2000, 4000, 4000]);
    expect(backoffDelay(0, 1000, 1000, () => 0)).toBe(800);
    expect(backoffDelay(0, 1000, 1000, () => 1)).toBe(1200);
  });
});
