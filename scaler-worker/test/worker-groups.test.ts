// Worker groups on the scaler's side, through the real router and the stand-in Vast: a deleted group
// adds nothing, its idle and cold instances are destroyed at once and a busy one is drained, then
// destroyed once idle; and no offer on a machine that holds one of our instances is rented beside
// the restart of that instance.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { admin, agentsReport, clock, events, instances, ledger, load, makeEndpoint, repoll, retireEndpoints, serveThenIdle, settle, sim, tick, type LedgerRow, type TestEndpoint } from "./helpers.ts";

beforeEach(async () => {
  await sim("/sim/reset", {});
  clock.offsetMs = 0;
});
afterEach(retireEndpoints);

const RTX_4090 = { image: "vllm/vllm-openai", gpu_ram: 24, search_params: { gpu_name: { eq: "RTX 4090" } } };

/** An endpoint with groups "a" and "b" (equal shares, same model), each warmed to two ready workers. */
async function twoGroups(params: Record<string, unknown>): Promise<{ ep: TestEndpoint; ids: Record<string, number> }> {
  const ep = await makeEndpoint({ max_workers: 4, ...params }, { name: "a" });
  await admin("POST", `/endpoints/${ep.name}/workergroups`, { name: "b", ...RTX_4090 });
  const { workergroups } = await admin<{ workergroups: { id: number; name: string }[] }>("GET", `/endpoints/${ep.name}/workergroups`);
  const ids = Object.fromEntries(workergroups.map((g) => [g.name, g.id]));
  // A probe in each group, then two each once measured (8,000 u in one bucket: a 400-u/s burst floor).
  for (let pass = 0; pass < 2; pass++) {
    await load(ep, 40, 100);
    await tick();
    await settle(ep.name);
    await agentsReport(ep.name, 100);
  }
  expect(await repoll(ep)).toBe(0);
  const rows = (await ledger(ep.name)).filter((r) => r.closed_at === null);
  expect(rows.filter((r) => group(r) === ids.a)).toHaveLength(2);
  expect(rows.filter((r) => group(r) === ids.b)).toHaveLength(2);
  return { ep, ids };
}

const group = (r: LedgerRow) => (r as LedgerRow & { group_id: number }).group_id;
const open = async (ep: TestEndpoint, groupId: number) => (await ledger(ep.name)).filter((r) => r.closed_at === null && group(r) === groupId);

describe("worker groups", () => {
  it("drains a deleted group's busy worker and destroys it once idle, destroys its idle one at once, and rents nothing for it", async () => {
    const { ep, ids } = await twoGroups({ cold_workers: 0 });
    const [busy, idle] = await open(ep, ids.b!);
    await agentsReport(ep.name, 100, { cur_load: 20 }, (i) => i.env.WORKER_ID === busy!.id);
    const rowsBefore = (await ledger(ep.name)).length;

    await admin("DELETE", `/endpoints/${ep.name}/workergroups/b`);
    await tick();
    await settle(ep.name);
    const log = await events(ep.name);
    expect(log.find((e) => e.action === "drain")).toMatchObject({ outcome: "ok", reason: expect.stringMatching(/worker group 'b' deleted: finishing its requests/) });
    expect(log.find((e) => e.action === "destroy")).toMatchObject({ outcome: "ok", reason: expect.stringMatching(/worker group 'b' deleted: drained and idle/) });
    // The idle one is gone; the busy one still runs, drained; nothing new in b.
    const b = await open(ep, ids.b!);
    expect(b.map((r) => r.id)).toEqual([busy!.id]);
    expect((await ledger(ep.name)).find((r) => r.id === idle!.id)!.close_reason).toBe("destroyed");
    expect((await ledger(ep.name)).slice(rowsBefore).every((r) => group(r) === ids.a)).toBe(true);
    const workers = (await admin<{ workers: { id: string; drained?: boolean }[] }>("GET", `/endpoints/${ep.name}/workers`)).workers;
    expect(workers.find((w) => w.id === busy!.id)).toMatchObject({ drained: true });

    // Still busy: left to finish. Idle: destroyed.
    expect((await events(ep.name)).filter((e) => e.action === "destroy")).toHaveLength(1);
    await tick();
    expect(await open(ep, ids.b!)).toHaveLength(1);
    await agentsReport(ep.name, 100, { cur_load: 0 }, (i) => i.env.WORKER_ID === busy!.id);
    await tick();
    await settle(ep.name);
    expect(await open(ep, ids.b!)).toEqual([]);
    expect((await instances(ep.name)).some((i) => i.env.WORKER_ID === busy!.id || i.env.WORKER_ID === idle!.id)).toBe(false);
    expect((await events(ep.name)).filter((e) => e.action === "destroy" && /worker group 'b' deleted/.test(e.reason))).toHaveLength(2);
  });

  it("destroys a deleted group's cold instances, keeps the other group's, and restarts only those", async () => {
    const { ep, ids } = await twoGroups({ inactivity_timeout: 60, cold_workers: 4 });
    clock.offsetMs = 120_000;
    await tick();
    await settle(ep.name);
    expect((await instances(ep.name)).map((i) => i.actual_status)).toEqual(["stopped", "stopped", "stopped", "stopped"]);

    await admin("DELETE", `/endpoints/${ep.name}/workergroups/b`);
    await tick();
    await settle(ep.name);
    expect(await open(ep, ids.b!)).toEqual([]);
    expect((await open(ep, ids.a!)).map((r) => r.status)).toEqual(["stopped", "stopped"]);
    const destroyed = (await events(ep.name)).filter((e) => e.action === "destroy");
    expect(destroyed).toHaveLength(2);
    expect(destroyed.every((e) => e.outcome === "ok" && /worker group 'b' deleted: stopped instance released/.test(e.reason))).toBe(true);

    // Load again: a's cold instances come back; b gets nothing.
    clock.offsetMs = 0;
    await load(ep, 40, 100);
    const before = (await ledger(ep.name)).length;
    await tick();
    const latest = await events(ep.name);
    const acted = latest.slice(0, latest.findIndex((e) => e.action === "decide"));
    expect(acted.filter((e) => e.action === "start")).toHaveLength(2);
    expect((await ledger(ep.name)).slice(before).every((r) => group(r) === ids.a)).toBe(true);
  });

  it("never rents an offer on the machine of an instance it restarts in the same pass", async () => {
    // One worker, stopped into the cold tier: its GPU goes back on the market, the cheapest RTX 4090.
    const ep = await makeEndpoint({ max_workers: 1, inactivity_timeout: 60, cold_workers: 1 });
    await load(ep, 10, 50);
    await tick();
    await serveThenIdle(ep);
    const [cold] = await instances(ep.name);
    expect(cold).toMatchObject({ actual_status: "stopped" });
    const machineOf = async (id: number) =>
      (await sim<{ instances: { id: number; machine_id: number }[] }>("/sim/state")).instances.find((i) => i.id === id)!.machine_id;
    const coldMachine = await machineOf(cold!.id);

    // Load for three and more (6,000 u waiting): the pass restarts it and rents two, none on its machine.
    await admin("PATCH", `/endpoints/${ep.name}`, { max_workers: 3 });
    clock.offsetMs = 0;
    await load(ep, 60, 100);
    const pass = await tick();
    const log = await events(ep.name);
    const acted = log.slice(0, log.findIndex((e) => e.action === "decide"));
    expect(acted.filter((e) => e.action === "start")).toMatchObject([{ outcome: "ok" }]);
    expect(acted.filter((e) => e.action === "create")).toHaveLength(2);
    expect(acted.every((e) => e.outcome === "ok")).toBe(true);
    expect(pass.outcomes.failed ?? 0).toBe(0);
    await settle(ep.name);
    const machines = await Promise.all((await instances(ep.name)).map((i) => machineOf(i.id)));
    expect(machines).toHaveLength(3);
    expect(new Set(machines).size).toBe(3);
    expect(machines.filter((m) => m === coldMachine)).toHaveLength(1);
  });
});
