import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { groupByShare, pickAcrossGroups, unitHash, type RoutingGroup } from "../group-routing.ts";
import type { LiveWorker } from "../routing.ts";

const NOW = 5_000_000;
const limits = { now: NOW, staleAfterMs: 30_000, maxQueueTime: 30 };
const group = (name: string, traffic_share: number, role: RoutingGroup["role"] = "primary", draining = false): RoutingGroup => ({ name, traffic_share, role, draining });
const worker = (id: string, over: Partial<LiveWorker> = {}): LiveWorker => ({
  id,
  url: `http://${id}:1`,
  reported: "ready",
  cur_load: 0,
  pending_load: 0,
  max_perf: 100,
  last_report_at: NOW - 1000,
  ...over,
});

describe("groupByShare", () => {
  it("realises 90/10 within one percentage point over 10,000 consecutive request ids", () => {
    const groups = [group("stable", 90), group("canary", 10)];
    let canary = 0;
    for (let idx = 1; idx <= 10_000; idx++) if (groupByShare(groups, idx)!.name === "canary") canary++;
    expect(Math.abs(canary / 10_000 - 0.1)).toBeLessThan(0.01);
  });

  it("puts the same request in the same group every time, whatever else changes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 40 }), fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 5 }), (idx, shares) => {
        const groups = shares.map((s, i) => group(`g${i}`, s));
        return groupByShare(groups, idx) === groupByShare(groups, idx);
      }),
    );
  });

  it("ignores overflow, draining and zero-share groups", () => {
    const groups = [group("a", 0), group("b", 5, "overflow"), group("c", 5, "primary", true), group("d", 1)];
    for (let idx = 1; idx < 500; idx++) expect(groupByShare(groups, idx)!.name).toBe("d");
    expect(groupByShare([group("a", 0)], 1)).toBeNull();
  });

  it("hashes ids uniformly enough that every decile of [0, 1) gets its tenth", () => {
    const deciles = new Array(10).fill(0);
    for (let i = 1; i <= 20_000; i++) deciles[Math.floor(unitHash(i) * 10)]++;
    for (const d of deciles) expect(Math.abs(d / 20_000 - 0.1)).toBeLessThan(0.01);
  });
});

describe("pickAcrossGroups", () => {
  const members = (byGroup: Record<string, LiveWorker[]>) => (g: string | null) => byGroup[g ?? ""] ?? [];

  it("never sends work to the overflow group while a primary has room", () => {
    const groups = [group("main", 1), group("spill", 1, "overflow")];
    const byGroup = { main: [worker("m1", { cur_load: 1000 })], spill: [worker("s1")] };
    for (let idx = 1; idx <= 200; idx++) {
      expect(pickAcrossGroups(groups, members(byGroup), 10, idx, limits)).toMatchObject({ kind: "worker", group: "main", spilled: false });
    }
  });

  it("sends the excess to the overflow group when every primary worker is at max_queue_time", () => {
    const groups = [group("main", 1), group("spill", 1, "overflow")];
    const byGroup = { main: [worker("m1", { cur_load: 3100 })], spill: [worker("s1")] };
    expect(pickAcrossGroups(groups, members(byGroup), 10, 7, limits)).toMatchObject({ kind: "worker", group: "spill", spilled: true });
  });

  it("gives the share of a group with no ready worker to the others instead of failing", () => {
    const groups = [group("a", 50), group("b", 50)];
    const byGroup = { a: [worker("a1", { reported: "loading" })], b: [worker("b1")] };
    for (let idx = 1; idx <= 200; idx++) expect(pickAcrossGroups(groups, members(byGroup), 10, idx, limits)).toMatchObject({ kind: "worker", group: "b" });
  });

  it("routes nothing to a draining (deleted) group, and says why when nothing can serve", () => {
    const groups = [group("old", 1, "primary", true), group("new", 1)];
    const byGroup = { old: [worker("o1")], new: [worker("n1", { reported: "loading" })] };
    expect(pickAcrossGroups(groups, members(byGroup), 10, 3, limits)).toEqual({ kind: "none", status: "loading: 1 worker starting", loading: 1, busy: 0, total: 1 });
  });

  it("serves workers of no group when the endpoint has no groups", () => {
    expect(pickAcrossGroups([], members({ "": [worker("x")] }), 10, 1, limits)).toMatchObject({ kind: "worker", group: null });
  });
});
