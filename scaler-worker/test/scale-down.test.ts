// Idle → stopped → destroyed beyond the cold tier → zero; a restart refused falls back to renting;
// a deleted endpoint releases everything.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { accounted, admin, agentsReport, clock, events, instances, ledger, load, makeEndpoint, repoll, retireEndpoints, serveThenIdle, settle, sim, tick, type TestEndpoint } from "./helpers.ts";

beforeEach(async () => {
  await sim("/sim/reset", {});
  clock.offsetMs = 0;
});
afterEach(retireEndpoints);

/** Load, probe, measure, scale to `n` (= max_workers), all agents ready. */
async function warm(ep: TestEndpoint, n: number): Promise<void> {
  await load(ep, 40, 50);
  await tick();
  await settle(ep.name);
  await agentsReport(ep.name, 100);
  await load(ep, 40, 50);
  await tick();
  await settle(ep.name);
  expect(await agentsReport(ep.name, 100)).toBe(n);
  // Clients re-poll and get workers: nothing waits at the edge any more.
  expect(await repoll(ep)).toBe(0);
}

const billing = async () => (await sim<{ billing: { gpu_billed_instances: number } }>("/sim/state")).billing;

describe("scaling down", () => {
  it("goes idle → stopped → destroyed beyond the cold tier → zero", async () => {
    const ep = await makeEndpoint({ max_workers: 3, inactivity_timeout: 60, cold_workers: 1 });
    await warm(ep, 3);

    // Past inactivity_timeout: scale to zero hot workers; the cold tier keeps one stopped, the rest are destroyed.
    clock.offsetMs = 120_000;
    await tick();
    await settle(ep.name);
    const after = await instances(ep.name);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ intended_status: "stopped", actual_status: "stopped" });
    expect((await billing()).gpu_billed_instances).toBe(0);
    const rows = await ledger(ep.name);
    expect(rows.filter((r) => r.closed_at === null).map((r) => r.status)).toEqual(["stopped"]);
    expect(rows.filter((r) => r.closed_at !== null).map((r) => r.close_reason)).toEqual(["destroyed", "destroyed"]);
    const log = await events(ep.name);
    expect(log.some((e) => e.action === "stop" && /idle for/.test(e.reason) && e.outcome === "ok")).toBe(true);
    expect(log.filter((e) => e.action === "destroy" && /beyond the cold tier/.test(e.reason))).toHaveLength(2);

    // No cold tier: the last one goes too.
    await admin("PATCH", `/endpoints/${ep.name}`, { cold_workers: 0 });
    await tick();
    expect(await instances(ep.name)).toEqual([]);
    expect((await ledger(ep.name)).every((r) => r.closed_at !== null)).toBe(true);
    expect((await tick()).actions).toBe(0);
  });

  it("shrinks to what the long window needs but keeps one hot worker until inactivity_timeout", async () => {
    const ep = await makeEndpoint({ max_workers: 3, inactivity_timeout: 300, cold_workers: 0 });
    await warm(ep, 3);
    const hot = async () => (await instances(ep.name)).filter((i) => i.intended_status === "running").length;
    // The burst floor remembers the warm-up burst for an hour: with it, more than one stays (4,000 u
    // in one 10-s bucket is 200 u/s at full use since the floor lost target_util's headroom: two of
    // the three; split over two buckets, the short window still wants two).
    clock.offsetMs = 30_000;
    await tick();
    expect(await hot()).toBeGreaterThanOrEqual(2);
    const noFloor = { BURST_WINDOW_S: 0 };
    for (const offset of [30_000, 120_000, 290_000]) {
      clock.offsetMs = offset;
      await tick({ kind: "cron" }, noFloor);
      expect(await hot()).toBeGreaterThanOrEqual(1);
    }
    expect(await hot()).toBe(1);
    clock.offsetMs = 310_000;
    await tick({ kind: "cron" }, noFloor);
    expect(await hot()).toBe(0);
  });

  it("restarts a cold instance first, and rents at once when the GPU was taken (resources_unavailable)", async () => {
    const ep = await makeEndpoint({ max_workers: 2, inactivity_timeout: 60, cold_workers: 2 });
    await warm(ep, 2);
    clock.offsetMs = 120_000;
    await tick();
    await settle(ep.name);
    expect((await instances(ep.name)).map((i) => i.actual_status)).toEqual(["stopped", "stopped"]);

    // Load again: restarts, not rentals.
    clock.offsetMs = 0;
    await load(ep, 5, 50);
    const restart = await tick();
    expect(restart.actions).toBeGreaterThanOrEqual(1);
    // This endpoint's latest plan (newest first, down to its decide event): restarts only.
    const log = await events(ep.name);
    const acted = log.slice(0, log.findIndex((e) => e.action === "decide"));
    expect(acted.length).toBeGreaterThanOrEqual(1);
    expect(acted.every((e) => e.action === "start" && e.outcome === "ok")).toBe(true);
    // Served, back to idle; then the GPUs are taken while stopped: the restart fails, a rental replaces it.
    await serveThenIdle(ep);
    expect((await instances(ep.name)).every((i) => i.actual_status === "stopped")).toBe(true);
    await sim("/sim/faults", { startFailRate: 1 });
    clock.offsetMs = 0;
    await load(ep, 5, 50);
    await tick();
    const after = await events(ep.name);
    expect(after.some((e) => e.action === "start" && e.outcome.startsWith("failed") && /resources_unavailable/.test(e.outcome))).toBe(true);
    expect(after.some((e) => e.action === "decide" && /restart refused/.test(e.reason))).toBe(true);
    expect(after[0]).toMatchObject({ action: "create", outcome: "ok" });
    // At max_workers, the cold instances that could not restart made room for the rentals.
    const rows = await ledger(ep.name);
    expect(rows.filter((r) => r.start_failures === 1).every((r) => r.closed_at !== null)).toBe(true);
    expect(after.some((e) => e.action === "destroy" && /could not restart/.test(e.reason))).toBe(true);
    const { open, live } = await accounted(ep.name);
    expect(open).toHaveLength(live.length);
  });

  it("releases every instance of a deleted endpoint, cold ones included", async () => {
    const ep = await makeEndpoint({ max_workers: 2, inactivity_timeout: 60, cold_workers: 1 });
    await warm(ep, 2);
    clock.offsetMs = 120_000;
    await tick();
    await settle(ep.name);
    expect(await instances(ep.name)).toHaveLength(1);
    await admin("DELETE", `/endpoints/${ep.name}`);
    await tick();
    expect(await instances(ep.name)).toEqual([]);
    expect((await ledger(ep.name)).every((r) => r.closed_at !== null)).toBe(true);
    expect((await tick()).actions).toBe(0);
  });
});
