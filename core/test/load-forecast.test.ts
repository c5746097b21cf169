import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { demandRate, forecastLoad, peakBucketDemand } from "../load-forecast.ts";
import { LOAD_BUCKET_MS, type LoadBucket } from "../snapshot.ts";

const NOW = 1_000_000 * LOAD_BUCKET_MS + 5_000; // half-way through a bucket

function bucket(agoBuckets: number, arrived: number, over: Partial<LoadBucket> = {}): LoadBucket {
  const current = NOW - (NOW % LOAD_BUCKET_MS);
  return { start: current - agoBuckets * LOAD_BUCKET_MS, arrived, requests: 1, served: 0, rejected: 0, held_peak: 0, ...over };
}

describe("demandRate", () => {
  it.each<[string, LoadBucket[], number, number]>([
    ["no history", [], 30, 0],
    ["the bucket in progress counts in full over the elapsed part", [bucket(0, 300)], 30, 10],
    ["three full buckets in a 30 s window", [bucket(3, 100), bucket(2, 100), bucket(1, 100)], 30, (100 * 0.5 + 200) / 30],
    ["a bucket straddling the window start counts in proportion", [bucket(3, 600)], 30, 300 / 30],
    ["buckets before the window are ignored", [bucket(10, 1000)], 30, 0],
    ["served + rejected beyond arrivals counts (clients bypassing or re-sending)", [bucket(1, 10, { served: 50, rejected: 40 })], 30, 90 / 30],
  ])("%s", (_name, buckets, windowS, expected) => {
    expect(demandRate(buckets, NOW, windowS)).toBeCloseTo(expected, 9);
  });

  it("takes the max of arrivals and of served + rejected over the window, not bucket by bucket", () => {
    // 100 u arrive in one bucket and are served in the next: 100 u of demand, not 200.
    const buckets = [bucket(2, 100), bucket(1, 0, { served: 100 })];
    expect(demandRate(buckets, NOW, 30)).toBeCloseTo(100 / 30, 9);
    expect(demandRate(buckets, NOW, 30, true)).toBeCloseTo(200 / 30, 9);
  });

  it("is never negative and never exceeds the total workload divided by the window", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 100 }), fc.double({ min: 0, max: 1e6, noNaN: true })), { maxLength: 80 }), fc.integer({ min: 1, max: 3600 }), (raw, windowS) => {
        const seen = new Set<number>();
        const buckets = raw
          .filter(([ago]) => !seen.has(ago) && seen.add(ago))
          .map(([ago, w]) => bucket(ago, w))
          .sort((a, b) => a.start - b.start);
        const rate = demandRate(buckets, NOW, windowS);
        const total = buckets.reduce((s, b) => s + b.arrived, 0);
        expect(rate).toBeGreaterThanOrEqual(0);
        expect(rate).toBeLessThanOrEqual(total / windowS + 1e-6);
      }),
    );
  });
});

describe("forecastLoad", () => {
  it("reacts to a burst at once through the short window", () => {
    const f = forecastLoad([bucket(1, 3000), bucket(0, 3000)], 0, NOW, { targetQueueTimeS: 10 });
    expect(f.short).toBeGreaterThan(f.long);
    expect(f.predicted).toBe(f.short);
  });

  it("shrinks slowly: ten minutes after a burst, the long window still remembers it", () => {
    const burst = Array.from({ length: 6 }, (_, i) => bucket(40 + i, 1000));
    const f = forecastLoad(burst, 0, NOW, { targetQueueTimeS: 10, windows: { shortS: 30, longS: 600, burstS: 0 } });
    expect(f.short).toBe(0);
    expect(f.long).toBeCloseTo(6000 / 600, 6);
    expect(f.predicted).toBe(f.long);
  });

  it("adds what it takes to drain the work waiting at the edge in target_queue_time when boots are quicker", () => {
    const f = forecastLoad([], 500, NOW, { targetQueueTimeS: 10, bootS: 5 });
    expect(f.backlog).toBe(50);
    expect(f.predicted).toBe(50);
  });

  it("plans the backlog over a boot when a boot takes longer than target_queue_time", () => {
    // A cold endpoint's first queue: capacity asked for now arrives a boot (150 s) later.
    const f = forecastLoad([], 238_000 * 10, NOW, { targetQueueTimeS: 10, bootS: 150 });
    expect(f.backlog).toBeCloseTo((238_000 * 10) / 150, 6);
  });

  it("keeps a burst floor: the largest 10-s bucket of the hour over 10 s + target_queue_time", () => {
    // A 6,000-unit burst 50 minutes ago, quiet since: the long window forgot it, the floor did not.
    const f = forecastLoad([bucket(300, 6000), bucket(1, 10)], 0, NOW, { targetQueueTimeS: 10 });
    expect(f.long).toBeCloseTo(10 / 600, 9);
    expect(f.burst).toBeCloseTo(6000 / 20, 9);
    expect(f.predicted).toBeCloseTo(300, 9);
    // Past the burst window, it is gone.
    expect(forecastLoad([bucket(361, 6000)], 0, NOW, { targetQueueTimeS: 10 }).burst).toBe(0);
  });

  it("takes the burst floor from arrivals only: a queue served at once is no burst of demand", () => {
    const served = [bucket(30, 100), bucket(29, 0, { served: 6000, rejected: 2000 })];
    expect(forecastLoad(served, 0, NOW, { targetQueueTimeS: 10 }).burst).toBeCloseTo(100 / 20, 9);
    expect(forecastLoad(served, 0, NOW, { targetQueueTimeS: 10, burstFromHandled: true }).burst).toBeCloseTo(8000 / 20, 9);
  });

  it("is the larger of the burst floor and the windows plus the backlog", () => {
    const f = forecastLoad([bucket(100, 3000), bucket(1, 600), bucket(0, 300)], 900, NOW, { targetQueueTimeS: 10, bootS: 90 });
    expect(f.predicted).toBeCloseTo(Math.max(Math.max(f.short, f.long) + 10, 150), 9);
  });

  it("never predicts less than any window or the floor, and more waiting work never predicts less", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.double({ min: 0, max: 1e5, noNaN: true })), { maxLength: 60 }),
        fc.double({ min: 0, max: 1e5, noNaN: true }),
        fc.double({ min: 0, max: 1e5, noNaN: true }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 600 }),
        (raw, waiting, more, tqt, bootS) => {
          const seen = new Set<number>();
          const buckets = raw
            .filter(([ago]) => !seen.has(ago) && seen.add(ago))
            .map(([ago, w]) => bucket(ago, w))
            .sort((a, b) => a.start - b.start);
          const f = forecastLoad(buckets, waiting, NOW, { targetQueueTimeS: tqt, bootS });
          expect(f.predicted).toBeGreaterThanOrEqual(Math.max(f.short, f.long, f.burst) - 1e-9);
          expect(f.burst).toBeLessThanOrEqual(peakBucketDemand(buckets, NOW, 3600) / 10 + 1e-9);
          expect(forecastLoad(buckets, waiting + more, NOW, { targetQueueTimeS: tqt, bootS }).predicted).toBeGreaterThanOrEqual(f.predicted - 1e-9);
        },
      ),
    );
  });
});
