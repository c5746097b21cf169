// From zero workers, with real parts: the client's first request is held at the edge and re-polled as
// Vast's SDK does, the router's scale-now call makes the scaler rent an instance at once (no cron pass runs
// in this test), the stand-in boots a real agent and model server, the agent benchmarks and reports, and
// the request completes with the model's own answer.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VastClient, type ClientEvent } from "../../demo/vast-client.ts";
import { completionText } from "../../sim/model-server/text.ts";
import { account, endpoint, events, ledgerMatchesAccount, testStack, workers, type TestStack } from "./stack.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await testStack();
}, 120_000);
afterAll(async () => stack?.close(), 60_000);

describe("scale from zero", () => {
  it("serves a first request on an endpoint with no workers, through scale-now, with the model's answer", async () => {
    const { name, apiKey } = await endpoint(stack, { cold_workers: 0, max_workers: 2 });
    expect(account(stack)).toEqual([]);
    const seen: ClientEvent[] = [];
    const client = new VastClient({ router: stack.url.origin, endpoint: name, apiKey, maxPollInterval: 1, timeoutS: 90, onEvent: (e) => seen.push(e) });
    const prompt = "what does a cold start cost";
    const result = await client.call("/v1/completions", { model: "sim-model", prompt, max_tokens: 12 }, { cost: 12 });

    expect(result.status).toBe(200);
    expect((JSON.parse(result.text) as { choices: { text: string }[] }).choices[0]!.text).toBe(completionText(prompt, 12));
    // The request kept one request_idx from the first poll to the answer.
    const idxs = new Set(seen.filter((e) => e.kind !== "retry").map((e) => (e as { request_idx: number }).request_idx));
    expect(idxs.size).toBe(1);
    // One instance, rented by the fast path, benchmarked by its agent; the ledger knows it.
    expect(account(stack)).toHaveLength(1);
    const [worker] = await workers(stack, name);
    expect(worker).toMatchObject({ phase: "ready" });
    expect(worker!.max_perf).toBeGreaterThan(0);
    const log = await events(stack, name);
    expect(log.some((e) => e.action === "decide" && e.reason.startsWith("scale-now"))).toBe(true);
    expect(log.filter((e) => e.action === "create" && e.outcome === "ok")).toHaveLength(1);
    expect((await ledgerMatchesAccount(stack)).ok).toBe(true);
  }, 120_000);
});
