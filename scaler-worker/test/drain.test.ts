// Drain, then release: a busy fleet larger than its target sheds a worker by asking the router to
// stop routing to it (setDrain on the endpoint's Durable Object); once idle it is released (stopped
// into the cold tier); a restart clears the drain; a drained worker is put back before anything is
// rented; an agent draining on its own (SIGTERM) is neither capacity nor "stuck starting".
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { admin, agentsReport, clock, events, instances, ledger, load, makeEndpoint, repoll, router, retireEndpoints, settle, sim, tick, type TestEndpoint } from "./helpers.ts";

beforeEach(async () => {
  await sim("/sim/reset", {});
  clock.offsetMs = 0;
});
afterEach(retireEndpoints);

/** Load, probe, measure, scale to `n` (= max_workers), all agents ready and nothing waiting. */
async function warm(ep: TestEndpoint, n: number): Promise<void> {
  await load(ep, 40, 50);
  await tick();
  await settle(ep.name);
  await agentsReport(ep.name, 100);
  await load(ep, 40, 50);
  await tick();
  await settle(ep.name);
  expect(await agentsReport(ep.name, 100)).toBe(n);
  expect(await repoll(ep)).toBe(0);
}

interface LiveWorker {
  id: string;
  url: string | null;
  phase: string;
  drained?: boolean;
}
const workers = async (ep: TestEndpoint) => (await admin<{ workers: LiveWorker[] }>("GET", `/endpoints/${ep.name}/workers`)).workers;

/** Where the router sends `n` new requests (they are finished at once, so nothing piles up). */
async function routed(ep: TestEndpoint, n: number): Promise<string[]> {
  const urls: string[] = [];
  for (let k = 0; k < n; k++) {
    const res = await router("/route/", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ endpoint: ep.name, api_key: ep.apiKey, cost: 1 }) });
    const body = (await res.json()) as { url?: string };
    if (body.url) urls.push(body.url);
  }
  return urls;
}

/** Past the long window (600 s) after the warm-up, without the burst floor: the target is min_load alone. */
const LATER = 700_000;
const NO_FLOOR = { BURST_WINDOW_S: 0 };

/** Three busy workers, load for two (min_load 150 → target 166.7 u/s): one is drained. */
async function oversized(): Promise<{ ep: TestEndpoint; drained: LiveWorker }> {
  const ep = await makeEndpoint({ max_workers: 3, cold_workers: 3, cold_mult: 0 });
  await warm(ep, 3);
  await admin("PATCH", `/endpoints/${ep.name}`, { min_load: 150 });
  await agentsReport(ep.name, 100, { cur_load: 20 });
  clock.offsetMs = LATER;
  await tick({ kind: "cron" }, NO_FLOOR);
  const log = await events(ep.name);
  expect(log.filter((e) => e.action === "drain")).toMatchObject([{ outcome: "ok" }]);
  expect(log.find((e) => e.action === "drain")!.reason).toMatch(/covers 166\.7/);
  const live = await workers(ep);
  const drained = live.filter((w) => w.drained);
  expect(drained).toHaveLength(1);
  expect(drained[0]!.phase).toBe("draining");
  // Nothing else was released or rented: all three still run.
  expect((await instances(ep.name)).every((i) => i.intended_status === "running")).toBe(true);
  return { ep, drained: drained[0]! };
}

describe("drain, then release", () => {
  it("drains a busy worker the target does not need; the router stops routing to it; it is stopped into the cold tier once idle; a restart clears the drain", async () => {
    const { ep, drained } = await oversized();

    // The router sends it nothing new.
    const urls = await routed(ep, 9);
    expect(urls).toHaveLength(9);
    expect(urls).not.toContain(drained.url);

    // Still busy: nothing happens to it.
    clock.offsetMs = LATER + 30_000;
    expect((await tick({ kind: "cron" }, NO_FLOOR)).actions).toBe(0);

    // Its work done, it reports idle (the drain survives the report); the next pass releases it.
    await agentsReport(ep.name, 100, { cur_load: 0 }, (i) => i.env.WORKER_ID === drained.id);
    expect((await workers(ep)).find((w) => w.id === drained.id)).toMatchObject({ drained: true, phase: "draining" });
    clock.offsetMs = LATER + 60_000;
    await tick({ kind: "cron" }, NO_FLOOR);
    await settle(ep.name);
    const mine = (await instances(ep.name)).find((i) => i.env.WORKER_ID === drained.id)!;
    expect(mine).toMatchObject({ intended_status: "stopped", actual_status: "stopped" });
    expect((await instances(ep.name)).filter((i) => i.actual_status === "running")).toHaveLength(2);
    expect((await ledger(ep.name)).find((r) => r.id === drained.id)!.status).toBe("stopped");
    const stop = (await events(ep.name)).find((e) => e.action === "stop")!;
    expect(stop).toMatchObject({ outcome: "ok" });
    expect(stop.reason).toMatch(/drained and idle; kept cold/);

    // Load for three again: the cold one is restarted, and the router's drain is lifted with it.
    await admin("PATCH", `/endpoints/${ep.name}`, { min_load: 250 });
    clock.offsetMs = LATER + 90_000;
    await tick({ kind: "cron" }, NO_FLOOR);
    const log = await events(ep.name);
    expect(log.find((e) => e.action === "start")).toMatchObject({ outcome: "ok" });
    expect(log.find((e) => e.action === "undrain")).toMatchObject({ outcome: "ok", reason: "restarted: the router routes to it again" });
    await settle(ep.name);
    await agentsReport(ep.name, 100, { cur_load: 0 }, (i) => i.env.WORKER_ID === drained.id);
    expect((await workers(ep)).find((w) => w.id === drained.id)).toMatchObject({ drained: false, phase: "ready" });
  });

  it("puts a drained worker back before restarting or renting when the load returns", async () => {
    const { ep, drained } = await oversized();
    await admin("PATCH", `/endpoints/${ep.name}`, { min_load: 250 });
    clock.offsetMs = LATER + 30_000;
    const pass = await tick({ kind: "scale-now", endpoint: ep.name, reason: "test" }, NO_FLOOR);
    expect(pass.vast.byRoute["PUT /asks/{id}/"] ?? 0).toBe(0);
    expect(pass.vast.byRoute["PUT /instances/{id}/"] ?? 0).toBe(0);
    const latest = await events(ep.name);
    const acted = latest.slice(0, latest.findIndex((e) => e.action === "decide"));
    expect(acted.map((e) => e.action)).toEqual(["undrain"]);
    expect(acted[0]!.reason).toMatch(/capacity wanted again/);
    expect((await workers(ep)).find((w) => w.id === drained.id)).toMatchObject({ drained: false });
    expect(await routed(ep, 9)).toContain(drained.url);
  });

  it("neither counts nor destroys as stuck an agent that drains on its own (SIGTERM from elsewhere)", async () => {
    const ep = await makeEndpoint({ max_workers: 2, cold_workers: 3, cold_mult: 0 });
    await warm(ep, 2);
    const [leaving] = await instances(ep.name);
    await agentsReport(ep.name, 100, { cur_load: 0, state: "draining" }, (i) => i.id === leaving!.id);
    expect((await workers(ep)).find((w) => w.id === leaving!.env.WORKER_ID)).toMatchObject({ phase: "draining", drained: false });
    // Load for two (target 166.7 u/s), room for a third, long past the 180-s start deadline counted
    // from its creation: the leaving box is not capacity, so one is rented; it is not destroyed as stuck.
    await admin("PATCH", `/endpoints/${ep.name}`, { min_load: 150, max_workers: 3 });
    clock.offsetMs = LATER;
    await tick({ kind: "cron" }, NO_FLOOR);
    const log = await events(ep.name);
    expect(log.find((e) => e.action === "decide")!.reason).toMatch(/ready 100\.0 u\/s/);
    expect(log.filter((e) => e.action === "create" && e.outcome === "ok")).toHaveLength(3);
    expect(log.some((e) => e.action === "destroy" || e.action === "drain" || e.action === "undrain")).toBe(false);
    expect((await ledger(ep.name)).find((r) => r.id === leaving!.env.WORKER_ID)).toMatchObject({ closed_at: null, status: "running" });
  });
});
