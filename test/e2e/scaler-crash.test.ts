// The scaler killed mid-pass, between the Vast create (which took effect) and the ledger write of its
// answer: both Workers are torn down while the stand-in holds the create's answer back, then started
// again on the same state. The next pass adopts the instance by its label: nothing leaked, nothing
// doubled, and the waiting request is served by that instance.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VastClient } from "../../demo/vast-client.ts";
import { account, endpoint, events, ledger, ledgerMatchesAccount, testStack, waitFor, type TestStack } from "./stack.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await testStack({ sim: { faults: { createAnswerDelayMs: 4000 } } });
}, 120_000);
afterAll(async () => stack?.close(), 60_000);

describe("scaler killed between a Vast call and its ledger write", () => {
  it("adopts the instance on the next pass: the account equals the ledger, one instance, request served", async () => {
    const { name, apiKey } = await endpoint(stack, { cold_workers: 0, max_workers: 1 });
    const client = new VastClient({ router: stack.url.origin, endpoint: name, apiKey, maxPollInterval: 1, timeoutS: 120 });
    const answer = client.call("/v1/completions", { model: "sim-model", prompt: "survive a crash", max_tokens: 4 }, { cost: 4 });

    // The scale-now pass has rented the instance; its answer is still held back. Kill the Workers now.
    await waitFor("the create to reach the stand-in", () => account(stack).length === 1, 30_000, 20);
    const [row] = await ledger(stack);
    expect(row).toMatchObject({ status: "creating", vast_instance_id: null });
    await stack.restartWorkers();
    stack.sim.setFaults({ createAnswerDelayMs: 0 });

    // The killed pass never released its endpoint lease (20 s here): passes skip the endpoint until it
    // expires, then the first one adopts. Until then nothing may be rented twice.
    const after = await waitFor(
      "the ledger to match the account",
      async () => {
        await stack.scaled();
        expect(account(stack)).toHaveLength(1);
        const m = await ledgerMatchesAccount(stack);
        return m.ok ? m : undefined;
      },
      60_000,
      2000,
    );
    expect(after.instances).toHaveLength(1);
    expect(after.rows).toEqual([expect.objectContaining({ id: row!.id, vast_instance_id: after.instances[0]!.id })]);
    expect((await events(stack, name)).some((e) => e.action === "adopt")).toBe(true);

    const result = await answer;
    expect(result.status).toBe(200);
    expect(account(stack)).toHaveLength(1);
    expect((await ledgerMatchesAccount(stack)).ok).toBe(true);
  }, 180_000);
});
