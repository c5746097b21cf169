import { describe, expect, it } from "vitest";
import { policyCatalog } from "../policies/catalog.ts";
import { Prng } from "../prng.ts";
import { resultsJson } from "../report.ts";
import { runTrace } from "../run-trace.ts";
import { syntheticAzure } from "../synthetic-trace.ts";
import type { Trace } from "../trace.ts";

/** The first 12 minutes of the synthetic Azure-like trace: bursts, idle minutes, every policy busy. */
function small(seed: string): Trace {
  const requests = syntheticAzure(new Prng(seed)).filter((r) => r.at < 12 * 60_000);
  return { name: "synthetic", requests, durationMs: 12 * 60_000, origin: "test", synthetic: true };
}

const run = (traceSeed: string, seed: string) => JSON.stringify(resultsJson([runTrace(small(traceSeed), policyCatalog, { seed, warmupMs: 3 * 60_000 })]));

describe("determinism", () => {
  it("gives identical results for the same seed, run after run", () => {
    expect(run("t", "s")).toBe(run("t", "s"));
  });

  it("gives different results for a different marketplace and client seed", () => {
    expect(run("t", "s")).not.toBe(run("t", "other"));
  });

  it("never reads the wall clock or Math.random", () => {
    const now = Date.now;
    const random = Math.random;
    Date.now = () => {
      throw new Error("wall clock read");
    };
    Math.random = () => {
      throw new Error("Math.random called");
    };
    try {
      expect(() => run("t", "s")).not.toThrow();
    } finally {
      Date.now = now;
      Math.random = random;
    }
  });
});
