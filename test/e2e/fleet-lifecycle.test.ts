// The fleet's life on the real stack: a burst beyond one worker's capacity brings more workers; idle
// workers are stopped into the cold tier and those beyond `cold_workers` destroyed; a new request
// restarts the stopped instance instead of renting; with no cold tier the fleet reaches zero after
// `inactivity_timeout` (shortened here), and not before. Cron passes are run by the test, one at a time.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VastClient } from "../../demo/vast-client.ts";
import { account, endpoint, events, ledgerMatchesAccount, testStack, waitFor, workers, type TestStack } from "./stack.ts";

let stack: TestStack;
beforeAll(async () => {
  // The burst floor's window shortened like the others (its default is an hour): the request after the
  // idle phase must find the burst gone from every window. The endpoint object keeps its load history
  // across evictions now, so an eviction during the idle phase no longer forgets the burst for it.
  stack = await testStack({ scalerVars: { BURST_WINDOW_S: "10" } });
}, 120_000);
afterAll(async () => stack?.close(), 60_000);

function client(name: string, apiKey: string): VastClient {
  return new VastClient({ router: stack.url.origin, endpoint: name, apiKey, maxPollInterval: 1, timeoutS: 120 });
}

const mine = (name: string) => account(stack).filter((i) => stack.sim.account.instances.get(i.id)?.request?.env?.ENDPOINT === name);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("fleet lifecycle", () => {
  it("grows under a burst, shrinks into the cold tier when idle, and restarts from it", async () => {
    const { name, apiKey } = await endpoint(stack, { cold_workers: 1, max_workers: 3, inactivity_timeout: 8 });
    await client(name, apiKey).call("/v1/completions", { model: "sim-model", prompt: "warm up", max_tokens: 4 }, { cost: 4 });
    expect(mine(name)).toHaveLength(1);

    // A burst whose declared workload is far beyond one worker's measured max_perf.
    const burst = Array.from({ length: 30 }, (_, i) =>
      client(name, apiKey).call("/v1/completions", { model: "sim-model", prompt: `burst ${i}`, max_tokens: 4 }, { cost: 2000 }),
    );
    await sleep(1500);
    await stack.scaled();
    const grown = await waitFor("a second ready worker", async () => ((await workers(stack, name)).filter((w) => w.phase === "ready").length >= 2 ? true : undefined), 60_000);
    expect(grown).toBe(true);
    const results = await Promise.all(burst);
    expect(results.every((r) => r.status === 200)).toBe(true);
    const peak = mine(name).length;
    expect(peak).toBeGreaterThanOrEqual(2);
    expect(peak).toBeLessThanOrEqual(3);

    // Idle: past the forecast windows and the inactivity timeout, cron passes shrink the fleet.
    await waitFor(
      "one stopped instance and nothing else",
      async () => {
        await stack.scaled();
        const left = mine(name);
        return left.length === 1 && left[0]!.intended === "stopped" && left[0]!.phase === "stopped" ? true : undefined;
      },
      90_000,
      2000,
    );
    const log = await events(stack, name);
    expect(log.some((e) => e.action === "stop" && e.outcome === "ok")).toBe(true);
    expect(log.filter((e) => e.action === "destroy" && e.outcome === "ok").length).toBe(peak - 1);
    expect((await ledgerMatchesAccount(stack)).ok).toBe(true);

    // A new request restarts the stopped instance: no rental. (First let the burst leave the forecast's
    // windows, 10 s of 10-s buckets here, burst window included: a request right after a burst rightly
    // asks for more.)
    await sleep(21_000);
    const createsBefore = log.filter((e) => e.action === "create").length;
    const stoppedId = mine(name)[0]!.id;
    const again = await client(name, apiKey).call("/v1/completions", { model: "sim-model", prompt: "back again", max_tokens: 4 }, { cost: 4 });
    expect(again.status).toBe(200);
    const after = await events(stack, name);
    expect(mine(name).map((i) => i.id)).toEqual([stoppedId]);
    expect(after.filter((e) => e.action === "create").length).toBe(createsBefore);
    expect(after.some((e) => e.action === "start" && e.outcome === "ok")).toBe(true);
  }, 240_000);

  it("with no cold tier, keeps the last worker until inactivity_timeout, then reaches zero", async () => {
    const { name, apiKey } = await endpoint(stack, { cold_workers: 0, max_workers: 2, inactivity_timeout: 6 });
    await client(name, apiKey).call("/v1/completions", { model: "sim-model", prompt: "one", max_tokens: 4 }, { cost: 4 });
    const lastRequest = Date.now();
    await stack.scaled();
    if (Date.now() - lastRequest < 6000) expect(mine(name)).toHaveLength(1);
    await waitFor(
      "zero instances",
      async () => {
        await stack.scaled();
        return mine(name).length === 0 ? true : undefined;
      },
      60_000,
      1500,
    );
    expect(Date.now() - lastRequest).toBeGreaterThanOrEqual(6000);
    expect((await ledgerMatchesAccount(stack)).ok).toBe(true);
  }, 120_000);
});
