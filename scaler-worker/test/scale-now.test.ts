// The router's "needs capacity now" path and the lease: scaling from zero does not wait for the
// cron minute, and overlapping passes never act twice on an endpoint.
import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clock, events, instances, ledger, load, makeEndpoint, sim, tick } from "./helpers.ts";

/** The Worker under test as its callers see it: the router's RPC and the cron trigger. */
const scaler = exports.default as unknown as { scaleNow(endpoint: string, reason: string): Promise<void>; scheduled(o: { cron: string }): Promise<unknown> };

beforeEach(async () => {
  await sim("/sim/reset", {});
  clock.offsetMs = 0;
});
afterEach(async () => {
  await env.SCALE_NOW_SWITCH.setForward(false);
});

async function eventually<T>(f: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 150; i++) {
    const v = await f();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("scale-now and leases", () => {
  it("scales from zero on the router's call, without a cron tick", async () => {
    await env.SCALE_NOW_SWITCH.setForward(true);
    const ep = await makeEndpoint();
    await load(ep, 3, 100);
    const calls = await env.SCALE_NOW_SWITCH.calls();
    expect(calls.some((c) => c.endpoint === ep.name && /no workers/.test(c.reason))).toBe(true);
    await eventually(() => instances(ep.name), (l) => l.length === 1, "an instance rented by the scale-now pass");
    const log = await eventually(() => events(ep.name), (l) => l.some((e) => e.action === "create"), "the create event");
    expect(log.some((e) => e.action === "decide" && e.reason.startsWith("scale-now (no workers"))).toBe(true);
  });

  it("runs overlapping passes (cron and scale-now) without acting twice", async () => {
    const ep = await makeEndpoint({ max_workers: 5 });
    await load(ep, 10, 100);
    await Promise.all([tick(), tick(), scaler.scaleNow(ep.name, "test"), scaler.scaleNow(ep.name, "test"), tick({ kind: "scale-now", endpoint: ep.name, reason: "test" })]);
    // Nothing is measured yet, so the right answer is exactly one probe, whoever got the lease.
    expect(await instances(ep.name)).toHaveLength(1);
    expect(await ledger(ep.name)).toHaveLength(1);
    const { results } = await env.DB.prepare(`SELECT count(*) AS n FROM scaler_leases`).all<{ n: number }>();
    expect(results[0]!.n).toBe(0);
  });

  it("runs the cron handler itself", async () => {
    const ep = await makeEndpoint();
    await load(ep, 3, 100);
    await scaler.scheduled({ cron: "* * * * *" });
    expect(await instances(ep.name)).toHaveLength(1);
    expect((await events(ep.name)).some((e) => e.action === "create" && e.outcome === "ok")).toBe(true);
  });

  it("refuses a scale-now call with a bad endpoint name and touches nothing", async () => {
    const before = await env.DB.prepare(`SELECT count(*) AS n FROM events`).first<{ n: number }>();
    await scaler.scaleNow("../not a name", "x");
    await scaler.scaleNow("no-such-endpoint", "x");
    const after = await env.DB.prepare(`SELECT count(*) AS n FROM events`).first<{ n: number }>();
    expect(after!.n).toBe(before!.n);
    expect(await instances()).toEqual([]);
  });
});
