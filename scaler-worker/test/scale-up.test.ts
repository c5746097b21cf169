// From zero to N workers under load, through the real router and the stand-in Vast.
import { beforeEach, describe, expect, it } from "vitest";
import { accounted, agentsReport, clock, events, instances, ledger, load, makeEndpoint, settle, sim, tick } from "./helpers.ts";

beforeEach(async () => {
  await sim("/sim/reset", {});
  clock.offsetMs = 0;
});

describe("scaling up", () => {
  it("goes from zero to max_workers under load: a probe first, then the rest once perf is measured", async () => {
    const ep = await makeEndpoint({ max_workers: 4 });
    await load(ep, 30, 200);

    const first = await tick();
    expect(first.status).toBe("done");
    expect((await instances(ep.name)).length).toBe(1);
    const [row] = await ledger(ep.name);
    expect(row).toMatchObject({ status: "running", closed_at: null });
    expect(row!.vast_instance_id).toBeGreaterThan(0);

    // The agent comes up with the credentials the scaler minted, and the router accepts its report.
    await settle(ep.name);
    expect(await agentsReport(ep.name, 100)).toBe(1);
    await load(ep, 30, 200);
    await tick();
    await settle(ep.name);
    expect((await instances(ep.name)).length).toBe(4);
    await agentsReport(ep.name, 100);

    // Converged: another pass changes nothing.
    const again = await tick();
    expect(again.actions).toBe(0);
    const { open, live } = await accounted(ep.name);
    expect(open.map((r) => r.vast_instance_id).sort()).toEqual(live.map((i) => i.id).sort());
    expect(live.every((i) => i.gpu_name === "RTX 4090")).toBe(true);

    const log = await events(ep.name);
    expect(log.filter((e) => e.action === "create" && e.outcome === "ok")).toHaveLength(4);
    expect(log.some((e) => e.action === "decide" && /predicted/.test(e.reason))).toBe(true);
  });
});
