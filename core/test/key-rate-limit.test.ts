import { describe, expect, it } from "vitest";
import { KeyRateLimit } from "../key-rate-limit.ts";

describe("per-key rate limit", () => {
  it("lets a key burst twice its rate, then one token per 1/rate seconds, each key on its own", () => {
    const limit = new KeyRateLimit(2); // 2/s, burst 4
    const t0 = 1_000_000;
    expect([1, 2, 3, 4].map(() => limit.take("a", t0))).toEqual([0, 0, 0, 0]);
    expect(limit.take("a", t0)).toBeCloseTo(0.5); // empty: the next token in half a second
    expect(limit.take("b", t0)).toBe(0); // another key is untouched
    expect(limit.take("a", t0 + 250)).toBeCloseTo(0.25);
    expect(limit.take("a", t0 + 500)).toBe(0);
    // Refills up to the burst, never beyond: after a long pause, 4 again and then refused.
    const later = t0 + 60_000;
    expect([1, 2, 3, 4].map(() => limit.take("a", later))).toEqual([0, 0, 0, 0]);
    expect(limit.take("a", later)).toBeGreaterThan(0);
  });
});
