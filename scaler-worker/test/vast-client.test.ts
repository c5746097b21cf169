// The Vast client in workerd against the stand-in: which calls are retried, how retries are bounded,
// how answers are checked, and that neither the key nor an mtoken ever reaches a log line.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createVastClient, VastError, type RetryPolicy } from "../src/vast-client.ts";
import { sim, VAST } from "./helpers.ts";

const policy: RetryPolicy = { timeoutMs: 500, maxAttempts: 3, baseMs: 1, capMs: 5, retryBudget: 10, maxCalls: 100, stormThreshold: 100 };
const client = (over: Partial<RetryPolicy> = {}, f?: typeof fetch) =>
  createVastClient({ baseUrl: `${VAST}/api/v0`, apiKey: "sim-key", labelPrefix: "egs:", policy: { ...policy, ...over }, ...(f ? { fetch: f } : {}) });
const counters = async () => (await sim<{ counters: Record<string, number> }>("/sim/state")).counters;
const createBody = { client_id: "me" as const, image: "x", env: { MASTER_TOKEN: "mt_secret_value" }, disk: 10, label: "egs:w_c" };

let logged: string[] = [];
beforeEach(async () => {
  await sim("/sim/reset", {});
  logged = [];
  for (const m of ["log", "warn", "error"] as const) vi.spyOn(console, m).mockImplementation((...a: unknown[]) => void logged.push(a.map(String).join(" ")));
});
afterEach(() => {
  vi.restoreAllMocks();
  expect(logged.join("\n")).not.toMatch(/sim-key|mt_secret_value/);
});

async function failure(p: Promise<unknown>): Promise<VastError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(VastError);
  return e as VastError;
}

describe("vast client", () => {
  it("retries an idempotent call on 5xx up to maxAttempts, then fails as ambiguous", async () => {
    await sim("/sim/faults", { errorRate: 1 });
    const c = client();
    const e = await failure(c.listInstances());
    expect(e).toMatchObject({ kind: "server", ambiguous: true });
    expect(c.stats()).toMatchObject({ calls: 3, retries: 2 });
  });

  it("never retries a create after a 5xx (it may have happened), but does after a 429", async () => {
    await sim("/sim/faults", { errorRate: 1 });
    const c = client();
    expect(await failure(c.createInstance(31_000_000, createBody))).toMatchObject({ kind: "server", ambiguous: true });
    expect(c.stats().calls).toBe(1);
    await sim("/sim/faults", { errorRate: 0, rateLimitRate: 1 });
    const r = client();
    expect(await failure(r.createInstance(31_000_000, createBody))).toMatchObject({ kind: "rate_limited", ambiguous: false });
    expect(r.stats().calls).toBe(3);
    expect((await counters()).create ?? 0).toBe(0);
  });

  it("answers refusals as definite errors with Vast's code: 410 for a taken offer, resources_unavailable, 404 on destroy is success", async () => {
    const c = client();
    const id = await c.createInstance(31_000_000, createBody);
    expect(await failure(c.createInstance(31_000_000, createBody))).toMatchObject({ kind: "http", code: "no_such_ask", status: 410, ambiguous: false });
    await c.setState(id, "stopped");
    await new Promise((r) => setTimeout(r, 60));
    await sim("/sim/faults", { startFailRate: 1 });
    expect(await failure(c.setState(id, "running"))).toMatchObject({ code: "resources_unavailable", ambiguous: false });
    await c.destroy(id);
    await c.destroy(id);
    expect(await c.bulkDestroy([id])).toEqual({ failed: [] });
  });

  it("bounds retries per tick, and stops calling at all once a storm is obvious", async () => {
    await sim("/sim/faults", { errorRate: 1 });
    const c = client({ retryBudget: 2, stormThreshold: 4 });
    await failure(c.listInstances());
    await failure(c.listInstances());
    expect(c.stats().retries).toBe(2);
    const before = c.stats().calls;
    expect(await failure(c.listInstances())).toMatchObject({ kind: "backed_off", code: "storm" });
    expect(c.stats().calls).toBe(before);
  });

  it("starts no call and waits for no retry past the pass deadline (a pass ends inside its lease)", async () => {
    await sim("/sim/faults", { timeoutRate: 1, hangMs: 2000 });
    const c = client({ timeoutMs: 1000, maxAttempts: 4, deadline: Date.now() + 150 });
    expect(await failure(c.listInstances())).toMatchObject({ kind: "timeout" });
    expect(c.stats().calls).toBe(1);
    expect(await failure(c.listInstances())).toMatchObject({ kind: "backed_off", code: "deadline" });
  });

  it("times out a call Vast never answers", async () => {
    await sim("/sim/faults", { timeoutRate: 1, hangMs: 2000 });
    const c = client({ timeoutMs: 100, maxAttempts: 2 });
    expect(await failure(c.listInstances())).toMatchObject({ kind: "timeout", ambiguous: true });
    expect(c.stats().calls).toBe(2);
  });

  it("treats an answer that does not parse as a failure", async () => {
    const fake = (body: unknown) => (async () => new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } })) as unknown as typeof fetch;
    expect(await failure(client({}, fake({ instances: [{ id: "nine", label: "egs:w_a" }] })).listInstances())).toMatchObject({ kind: "bad_answer" });
    expect(await failure(client({}, fake({ success: true })).createInstance(1, createBody))).toMatchObject({ kind: "bad_answer", ambiguous: true });
    expect(await failure(client({}, fake({ offers: [{ id: 1 }] })).searchOffers({}))).toMatchObject({ kind: "bad_answer" });
  });
});
