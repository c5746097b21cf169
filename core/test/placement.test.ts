import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadDeadlineS, recordLoadTime } from "../load-deadline.ts";
import { compareBestFirst, estimatePerf, learnPerf, modelKey, offerQuery, queryKey, rankOffers, seedPerfBook, type Priced } from "../placement.ts";
import { offer } from "./fleet-fixtures.ts";

describe("offerQuery", () => {
  it("adds the group's memory floor in MB, rentable on-demand offers, cheapest first", () => {
    expect(offerQuery({ search_params: { gpu_name: { in: ["RTX 4090", "RTX 3090"] } }, gpu_ram: 24 }, 10)).toEqual({
      gpu_name: { in: ["RTX 4090", "RTX 3090"] },
      gpu_ram: { gte: 24_000 },
      rentable: { eq: true },
      rented: { eq: false },
      order: [["dph_total", "asc"]],
      type: "ondemand",
      limit: 10,
    });
  });

  it("keeps the stricter of the group's own gpu_ram filter and its gpu_ram floor", () => {
    expect(offerQuery({ search_params: { gpu_ram: { gte: 40_000 } }, gpu_ram: 24 }).gpu_ram).toEqual({ gte: 40_000 });
    expect(offerQuery({ search_params: { gpu_ram: { lte: 90_000 } }, gpu_ram: 48 }).gpu_ram).toEqual({ lte: 90_000, gte: 48_000 });
  });

  it("gives equal queries the same key whatever the field order", () => {
    const a = offerQuery({ search_params: { gpu_name: { eq: "A" }, num_gpus: { eq: 1 } }, gpu_ram: null });
    const b = offerQuery({ search_params: { num_gpus: { eq: 1 }, gpu_name: { eq: "A" } }, gpu_ram: null });
    expect(queryKey(a)).toBe(queryKey(b));
    expect(queryKey(a)).not.toBe(queryKey(offerQuery({ search_params: {}, gpu_ram: null })));
  });
});

describe("perf learning", () => {
  it.each<[string, Record<string, number> | undefined, string | null, number | null]>([
    ["nothing learned", undefined, "RTX 4090", null],
    ["the GPU type's own value", { "RTX 4090": 120, "RTX 3090": 80 }, "RTX 4090", 120],
    ["an unknown type gets the group's median", { "RTX 4090": 120, "RTX 3090": 80, "A100 80GB": 300 }, "H100", 120],
    ["an empty book knows nothing", {}, "RTX 4090", null],
  ])("%s", (_name, book, gpu, expected) => {
    expect(estimatePerf(book, gpu)).toBe(expected);
  });

  it("replaces a type's value by the median of its ready workers and keeps the others", () => {
    expect(
      learnPerf({ "RTX 4090": 50, "RTX 3090": 70 }, [
        { gpu_name: "RTX 4090", max_perf: 100 },
        { gpu_name: "RTX 4090", max_perf: 120 },
        { gpu_name: "RTX 4090", max_perf: 400 },
        { gpu_name: null, max_perf: 999 },
        { gpu_name: "A100", max_perf: 0 },
      ]),
    ).toEqual({ "RTX 4090": 120, "RTX 3090": 70 });
  });
});

describe("a book seeded by groups running the same model", () => {
  it("knows the same model by its template, else by image and launch arguments", () => {
    expect(modelKey({ template_hash: "t1", image: "a", launch_args: null })).toBe(modelKey({ template_hash: "t1", image: "b", launch_args: "--x" }));
    expect(modelKey({ template_hash: null, image: "vllm", launch_args: "--model m" })).not.toBe(modelKey({ template_hash: null, image: "vllm", launch_args: "--model n" }));
    expect(modelKey({ template_hash: null, image: null, launch_args: null })).toBeNull();
  });

  it.each<[string, Record<string, number>, Record<string, number>[], Record<string, number>]>([
    ["nothing of its own: the others' median per GPU type", {}, [{ H100: 280 }, { H100: 300, A100: 100 }], { H100: 290, A100: 100 }],
    ["its own values win", { H100: 250 }, [{ H100: 300, A100: 100 }], { H100: 250, A100: 100 }],
    ["no others: its own book", { "RTX 4090": 50 }, [], { "RTX 4090": 50 }],
    ["zeros teach nothing", {}, [{ H100: 0 }], {}],
  ])("%s", (_name, own, others, expected) => {
    expect(seedPerfBook(own, others)).toEqual(expected);
  });

  it("lets a better perf per dollar be tried before the first probe locks in", () => {
    // The group measured only the cheap card; another endpoint of the same model measured the H100.
    const own = { "RTX 4090": 50 };
    const offers = new Map([[1, [offer(1, "RTX 4090", 0.4), offer(2, "H100", 2.0)]]]);
    expect(rankOffers(offers, new Map([[1, own]]))[0]!.offer.gpu_name).toBe("RTX 4090");
    expect(rankOffers(offers, new Map([[1, seedPerfBook(own, [{ H100: 300 }])]]))[0]!.offer.gpu_name).toBe("H100");
  });
});

describe("ranking", () => {
  it("puts measured perf per dollar first, unmeasured by price after", () => {
    const ranked = rankOffers(
      new Map([[1, [offer(1, "A100", 1.6), offer(2, "RTX 3090", 0.2), offer(3, "RTX 4090", 0.4), offer(4, "L40S", 0.1)]]]),
      new Map([[1, { A100: 400, "RTX 3090": 60 }]]),
    );
    // RTX 3090: 300/$; unknown types are valued at the median (230): L40S 2300/$, RTX 4090 575/$; A100 250/$.
    expect(ranked.map((r) => r.offer.id)).toEqual([4, 3, 2, 1]);
  });

  it("is a total order: antisymmetric and transitive over any priced things", () => {
    const arb = fc.record({
      key: fc.string({ maxLength: 3 }),
      dph: fc.double({ min: 0, max: 5, noNaN: true }),
      perf: fc.option(fc.double({ min: 0, max: 500, noNaN: true }), { nil: null }),
    });
    fc.assert(
      fc.property(arb, arb, arb, (a: Priced, b: Priced, c: Priced) => {
        expect(Math.sign(compareBestFirst(a, b))).toBe(-Math.sign(compareBestFirst(b, a)) || 0);
        if (compareBestFirst(a, b) <= 0 && compareBestFirst(b, c) <= 0) expect(compareBestFirst(a, c)).toBeLessThanOrEqual(0);
      }),
    );
  });
});

describe("loadDeadlineS", () => {
  const bounds = { floorS: 300, ceilingS: 3600, factor: 2 };
  it.each<[string, number[], number]>([
    ["nothing learned: the ceiling", [], 3600],
    ["fast loads: the floor", [30, 40, 35], 300],
    ["twice the 90th percentile (nearest rank: 600 of ten samples)", [200, 400, 600, 300, 500, 450, 420, 380, 410, 900], 1200],
    ["slow loads: the ceiling", [3000, 4000], 3600],
  ])("%s", (_name, times, expected) => {
    expect(loadDeadlineS(times, bounds)).toBe(expected);
  });

  it("stays within its bounds whatever was learned", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true })), (times) => {
        const d = loadDeadlineS(times, bounds);
        expect(d).toBeGreaterThanOrEqual(bounds.floorS);
        expect(d).toBeLessThanOrEqual(bounds.ceilingS);
      }),
    );
  });

  it("keeps the newest samples only", () => {
    let h: number[] = [];
    for (let i = 0; i < 40; i++) h = recordLoadTime(h, i);
    expect(h).toHaveLength(16);
    expect(h[15]).toBe(39);
  });
});
