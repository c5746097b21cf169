// The stand-in behaves like Vast's instance API: offers, lifecycle, labels, billing, errors, 429s, faults.
import { afterEach, describe, expect, it } from "vitest";
import { parseVastSimOptions, VastSimOptions } from "../options.ts";
import { startVastSim, type VastSim } from "../server.ts";

let sim: VastSim | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(over: Record<string, unknown> = {}, faults: Record<string, unknown> = {}): Promise<VastSim> {
  sim = await startVastSim(VastSimOptions.parse({ processes: false, rate: 0, faults: { scheduleMs: 20, loadMs: 60, startMs: 30, stopMs: 30, ...faults }, ...over }));
  return sim;
}

async function call(method: string, path: string, body?: unknown, key = "sim-key"): Promise<{ status: number; body: any; text: string; headers: Headers }> {
  const res = await fetch(`${sim!.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // plain text (429s, 5xx pages)
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

const create = (offer: number, label = "egs:w_test", env: Record<string, string> = {}) =>
  call("PUT", `/asks/${offer}/`, { client_id: "me", image: "img", env, disk: 20, label });

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await f();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const list = async () => (await call("GET", "/instances/?owner=me")).body.instances as any[];

describe("stand-in Vast: offers", () => {
  it("filters with Vast's operators, orders and limits", async () => {
    await start();
    const r = await call("POST", "/bundles/", { gpu_ram: { gte: 40_000 }, gpu_name: { notin: ["H100 SXM"] }, order: [["dph_total", "desc"]], limit: 3 });
    expect(r.status).toBe(200);
    expect(r.body.offers).toHaveLength(3);
    expect(r.body.offers.every((o: any) => o.gpu_ram >= 40_000 && o.gpu_name !== "H100 SXM")).toBe(true);
    const prices = r.body.offers.map((o: any) => o.dph_total);
    expect([...prices].sort((a, b) => b - a)).toEqual(prices);
  });

  it("takes a rented offer off the market and answers 410 for it, 404 no_such_ask for an unknown one", async () => {
    await start();
    const [first] = (await call("POST", "/bundles/", { gpu_name: { eq: "RTX 4090" }, order: [["dph_total", "asc"]] })).body.offers;
    expect((await create(first.id)).body).toMatchObject({ success: true });
    const again = await call("POST", "/bundles/", { gpu_name: { eq: "RTX 4090" } });
    expect(again.body.offers.map((o: any) => o.id)).not.toContain(first.id);
    expect(await create(first.id)).toMatchObject({ status: 410, body: { error: "no_such_ask" } });
    expect(await create(1)).toMatchObject({ status: 404, body: { error: "no_such_ask" } });
  });

  it("refuses a malformed create with 400 invalid_args and rents nothing", async () => {
    await start();
    const r = await call("PUT", "/asks/31000000/", { client_id: "me", env: {}, disk: 20, label: "x" });
    expect(r).toMatchObject({ status: 400, body: { error: "invalid_args" } });
    expect(await list()).toEqual([]);
  });
});

describe("stand-in Vast: instances", () => {
  it("goes scheduling (null) → loading → running, with its label, price and a port", async () => {
    // Scheduling long enough to be seen on a busy machine (20 ms was not, with other tests running).
    await start({}, { scheduleMs: 400 });
    const { body } = await create(31_000_000, "egs:w_a", { "-p 3000:3000": "1" });
    const first = (await list())[0];
    expect(first).toMatchObject({ id: body.new_contract, label: "egs:w_a", actual_status: null, intended_status: "running" });
    const running = await until(list, (l) => l[0]?.actual_status === "running", "running");
    expect(running[0]).toMatchObject({ cur_state: "running", dph_total: 0.22, gpu_name: "RTX 3090", public_ipaddr: "127.0.0.1" });
    expect(Object.keys(running[0].ports)).toEqual(["3000/tcp"]);
  });

  it("stops, restarts, and refuses a restart with resources_unavailable when the GPU was rented meanwhile", async () => {
    await start();
    const id = (await create(31_000_000)).body.new_contract;
    await until(list, (l) => l[0]?.actual_status === "running", "running");
    expect((await call("PUT", `/instances/${id}/`, { state: "stopped" })).body).toEqual({ success: true });
    await until(list, (l) => l[0]?.actual_status === "stopped", "stopped");
    expect((await call("PUT", `/instances/${id}/`, { state: "running" })).body).toEqual({ success: true });
    await until(list, (l) => l[0]?.actual_status === "running", "restarted");
    await call("PUT", `/instances/${id}/`, { state: "stopped" });
    await until(list, (l) => l[0]?.actual_status === "stopped", "stopped again");
    // Someone rents the freed GPU: the stopped instance can no longer start.
    expect((await create(31_000_000, "other")).status).toBe(200);
    const refused = await call("PUT", `/instances/${id}/`, { state: "running" });
    expect(refused).toMatchObject({ status: 200, body: { success: false, error: "resources_unavailable" } });
  });

  it("destroys once, then answers 404 no_such_instance", async () => {
    await start();
    const id = (await create(31_000_000)).body.new_contract;
    expect((await call("DELETE", `/instances/${id}/`)).body).toEqual({ success: true });
    expect(await call("DELETE", `/instances/${id}/`)).toMatchObject({ status: 404, body: { error: "no_such_instance" } });
    expect(await call("GET", `/instances/${id}/`)).toMatchObject({ status: 404 });
  });

  it("accepts Vast's bulk stop and destroy", async () => {
    await start();
    const ids = [(await create(31_000_000)).body.new_contract, (await create(31_000_001)).body.new_contract];
    expect((await call("PUT", "/instances/", { state: "stopped", ids })).body).toMatchObject({ success: true, failed: [] });
    expect((await list()).every((i) => i.intended_status === "stopped")).toBe(true);
    expect((await call("DELETE", "/instances/", { instance_ids: [...ids, 77] })).body).toMatchObject({ success: true, failed: [{ id: 77, error: "no_such_instance" }] });
    expect(await list()).toEqual([]);
  });

  it("bills the GPU while loading or running and only storage while stopped", async () => {
    await start();
    const id = (await create(31_000_016)).body.new_contract; // the first A100, $1.30/h
    await new Promise((r) => setTimeout(r, 150));
    const state = async () => (await (await fetch(`${sim!.url}/sim/state`)).json()) as any;
    expect((await state()).billing).toMatchObject({ current_dph: 1.3, gpu_billed_instances: 1 });
    await call("PUT", `/instances/${id}/`, { state: "stopped" });
    await until(list, (l) => l[0]?.actual_status === "stopped", "stopped");
    const stopped = (await state()).billing;
    expect(stopped.gpu_billed_instances).toBe(0);
    expect(stopped.current_dph).toBeLessThan(0.01);
    expect(stopped.total_usd).toBeGreaterThan(0);
  });
});

describe("stand-in Vast: failures", () => {
  it("rejects a wrong key with 401", async () => {
    await start();
    expect(await call("GET", "/instances/?owner=me", undefined, "nope")).toMatchObject({ status: 401 });
  });

  it("rate-limits with a plain-text 429 and no Retry-After", async () => {
    await start({ rate: 1, burst: 2 });
    const answers = await Promise.all(Array.from({ length: 5 }, () => call("GET", "/instances/?owner=me")));
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    for (const a of limited) {
      expect(a.body).toBeNull();
      expect(a.headers.get("content-type")).toMatch(/text\/plain/);
      expect(a.headers.get("retry-after")).toBeNull();
    }
  });

  it("injects 5xx, lost create answers, stuck loads and refused restarts as configured", async () => {
    await start({}, { errorRate: 1 });
    expect((await call("GET", "/instances/?owner=me")).status).toBeGreaterThanOrEqual(500);
    sim!.setFaults({ errorRate: 0, loseCreateRate: 1, stuckRate: 1 });
    const lost = await create(31_000_000, "egs:w_lost");
    expect(lost.status).toBe(502);
    // The answer was lost, the instance was not: it is listed under its label, and never finishes loading.
    await new Promise((r) => setTimeout(r, 200));
    const [inst] = await list();
    expect(inst).toMatchObject({ label: "egs:w_lost", actual_status: "loading" });
    sim!.setFaults({ startFailRate: 1 });
    await call("PUT", `/instances/${inst.id}/`, { state: "stopped" });
    await until(list, (l) => l[0]?.actual_status === "stopped", "stopped");
    expect((await call("PUT", `/instances/${inst.id}/`, { state: "running" })).body).toMatchObject({ error: "resources_unavailable" });
  });

  it("never answers a request it times out, and drops the connection", async () => {
    await start({}, { timeoutRate: 1, hangMs: 100 });
    await expect(fetch(`${sim!.apiUrl}/instances/?owner=me`, { headers: { authorization: "Bearer sim-key" } })).rejects.toThrow();
  });
});

describe("stand-in Vast: options", () => {
  it("reads flags and environment, the flag winning", () => {
    const o = parseVastSimOptions(["--port", "9", "--gpu", "T4:0.1:16000:2", "--error-rate", "0.5", "--no-processes"], {
      VAST_SIM_PORT: "7",
      VAST_SIM_LOAD_MS: "5",
      VAST_SIM_AGENT_ENV: "BENCH_SECONDS=1,BENCH_ROUNDS=1",
    });
    expect(o).not.toBe("help");
    if (o === "help") return;
    expect(o).toMatchObject({ port: 9, processes: false, gpus: [{ gpu_name: "T4", dph_total: 0.1, gpu_ram: 16000, machines: 2 }] });
    expect(o.faults).toMatchObject({ errorRate: 0.5, loadMs: 5 });
    expect(o.agentEnv).toEqual({ BENCH_SECONDS: "1", BENCH_ROUNDS: "1" });
  });

  it("explains a bad flag", () => {
    expect(() => parseVastSimOptions(["--gpu", "nonsense"], {})).toThrow(/name:dph:gpu_ram_MB:machines/);
    expect(() => parseVastSimOptions(["--bogus"], {})).toThrow(/bogus/);
  });
});
