// The ledger protocol against the stand-in: a crash between the Vast create and the ledger write is
// repaired by adoption; lost answers, orphans, vanished, stuck and broken instances are repaired too.
// Throughout, every open ledger row and every live instance with our label match one to one.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { offerQuery } from "../../core/placement.ts";
import { hashSecret, mintId, mintSecret } from "../../core/secret.ts";
import { loadConfig } from "../src/config.ts";
import { tickDeps } from "../src/index.ts";
import { createRequest } from "../src/instance-request.ts";
import { database, insertIntents, readTick, send } from "../src/ledger-store.ts";
import { accounted, agentsReport, clock, events, instances, ledger, load, makeEndpoint, settle, sim, tick } from "./helpers.ts";

beforeEach(async () => {
  await sim("/sim/reset", {});
  clock.offsetMs = 0;
});

async function expectAccounted(endpoint: string): Promise<void> {
  const { open, live } = await accounted(endpoint);
  expect(open.map((r) => r.vast_instance_id).sort()).toEqual(live.map((i) => i.id).sort());
}

describe("ledger", () => {
  it("adopts an instance created just before a crash, so nothing is leaked and nothing doubled", async () => {
    const ep = await makeEndpoint({ max_workers: 5 });
    const cfg = loadConfig(env);
    const db = database(env.DB);
    const read = await readTick(db, { kind: "endpoint", name: ep.name }, "test", Date.now(), 1000, { acquire: false });
    const endpoint = read.endpoints[0]!;
    const group = read.groups.find((g) => g.endpointId === endpoint.id)!;
    const vast = tickDeps(env as unknown as ScalerEnv, cfg).vast;
    const [offer] = await vast.searchOffers(offerQuery({ search_params: { gpu_name: { eq: "RTX 4090" } }, gpu_ram: null }, 1));

    // The first half of a create: intent written, Vast called... and the Worker dies before the outcome write.
    const id = mintId("w_");
    const mtoken = mintSecret("mt_");
    await send(db, insertIntents(db, [{ id, endpointId: endpoint.id, groupId: group.id, mtokenHash: await hashSecret(mtoken), offerId: offer!.id, gpuName: offer!.gpu_name, dph: offer!.dph_total }], Date.now()));
    const vastId = await vast.createInstance(offer!.id, createRequest(cfg, endpoint, group, id, mtoken));
    expect((await ledger(ep.name))[0]).toMatchObject({ id, status: "creating", vast_instance_id: null });

    // The next tick, under load, adopts it and does not rent a second one for the same need.
    await load(ep, 5, 50);
    const report = await tick();
    expect(report.repairs.adopted).toBe(1);
    expect((await ledger(ep.name))[0]).toMatchObject({ id, status: "running", vast_instance_id: vastId });
    expect(await instances(ep.name)).toHaveLength(1);
    await expectAccounted(ep.name);
    expect((await events(ep.name)).some((e) => e.action === "adopt")).toBe(true);
    // And the adopted instance's agent is known to the router under the minted credentials.
    await settle(ep.name);
    expect(await agentsReport(ep.name)).toBe(1);
  });

  it("adopts after a lost create answer (the stand-in answers 502 after renting)", async () => {
    const ep = await makeEndpoint({ max_workers: 5 });
    await sim("/sim/faults", { loseCreateRate: 1 });
    await load(ep, 5, 50);
    const first = await tick();
    expect(first.outcomes).toEqual({ unknown: 1 });
    expect((await ledger(ep.name))[0]).toMatchObject({ status: "creating", vast_instance_id: null, closed_at: null });
    await sim("/sim/faults", { loseCreateRate: 0 });
    const second = await tick();
    expect(second.repairs.adopted).toBe(1);
    expect(second.outcomes).toEqual({});
    expect(await instances(ep.name)).toHaveLength(1);
    await expectAccounted(ep.name);
  });

  it("closes a creating row whose create never happened, after the grace, and rents again", async () => {
    const ep = await makeEndpoint({ max_workers: 5 });
    await sim("/sim/faults", { errorRate: 1 });
    await load(ep, 5, 50);
    await tick({ kind: "cron" }, { VAST_MAX_ATTEMPTS: 1 });
    // The list failed: nothing was decided, nothing written.
    expect(await ledger(ep.name)).toEqual([]);
    await sim("/sim/faults", { errorRate: 0, loseCreateRate: 0 });
    // A create that failed with a 5xx may or may not have happened: the row waits for the grace.
    const db = database(env.DB);
    const read = await readTick(db, { kind: "endpoint", name: ep.name }, "t", Date.now(), 1000, { acquire: false });
    await send(db, insertIntents(db, [{ id: mintId("w_"), endpointId: read.endpoints[0]!.id, groupId: read.groups.find((g) => g.endpointId === read.endpoints[0]!.id)!.id, mtokenHash: "x", offerId: 1, gpuName: "RTX 4090", dph: 0.4 }], Date.now()));
    expect((await tick()).repairs.closed).toBe(0);
    clock.offsetMs = 200_000;
    await load(ep, 5, 50);
    await tick();
    expect((await ledger(ep.name)).find((r) => r.closed_at !== null)?.close_reason).toBe("create never took effect");
    expect(await instances(ep.name)).toHaveLength(1);
    await expectAccounted(ep.name);
  });

  it("destroys an instance carrying our label that no open row owns, and never touches others", async () => {
    const ep = await makeEndpoint();
    const put = (offer: number, label: string) =>
      fetch(`${loadConfig(env).VAST_API_URL}/asks/${offer}/`, {
        method: "PUT",
        headers: { authorization: "Bearer sim-key", "content-type": "application/json" },
        body: JSON.stringify({ client_id: "me", image: "x", env: { ENDPOINT: ep.name }, disk: 10, label }),
      }).then((r) => r.json() as Promise<{ new_contract: number }>);
    const orphan = await put(31_000_000, "egs:w_nobody");
    const theirs = await put(31_000_001, "someone else's box");
    const report = await tick();
    expect(report.repairs.orphans).toBe(1);
    const left = (await instances()).map((i) => i.id);
    expect(left).not.toContain(orphan.new_contract);
    expect(left).toContain(theirs.new_contract);
  });

  it("closes the row of an instance that vanished, and replaces it under load", async () => {
    const ep = await makeEndpoint({ max_workers: 2 });
    await load(ep, 5, 50);
    await tick();
    const [gone] = await instances(ep.name);
    await fetch(`${loadConfig(env).VAST_API_URL}/instances/${gone!.id}/`, { method: "DELETE", headers: { authorization: "Bearer sim-key" } });
    clock.offsetMs = 150_000;
    await load(ep, 5, 50);
    await tick();
    expect((await ledger(ep.name))[0]).toMatchObject({ close_reason: "instance gone from Vast" });
    expect(await instances(ep.name)).toHaveLength(1);
    await expectAccounted(ep.name);
  });

  it("destroys and replaces an instance stuck loading past the deadline, and one that errored", async () => {
    const ep = await makeEndpoint({ max_workers: 3 });
    await sim("/sim/faults", { stuckRate: 1 });
    await load(ep, 5, 50);
    await tick();
    await sim("/sim/faults", { stuckRate: 0 });
    const [stuck] = await instances(ep.name);
    expect(stuck!.actual_status).toBe("loading");

    clock.offsetMs = 90_000;
    await load(ep, 5, 50);
    const bounds = { LOAD_DEADLINE_FLOOR_S: 10, LOAD_DEADLINE_CEILING_S: 60 };
    await tick({ kind: "cron" }, bounds);
    const log = await events(ep.name);
    expect(log.some((e) => e.action === "destroy" && /stuck loading/.test(e.reason) && e.outcome === "ok")).toBe(true);
    const [fresh] = await instances(ep.name);
    expect(fresh!.id).not.toBe(stuck!.id);

    await settle(ep.name);
    await agentsReport(ep.name);
    await sim(`/sim/instances/${fresh!.id}/fail`, { status: "exited" });
    await load(ep, 5, 50);
    await tick({ kind: "cron" }, bounds);
    expect((await events(ep.name)).some((e) => e.action === "destroy" && /errored: Vast says exited/.test(e.reason))).toBe(true);
    const now = await instances(ep.name);
    expect(now).toHaveLength(1);
    expect(now[0]!.id).not.toBe(fresh!.id);
    await expectAccounted(ep.name);
  });
});
