// The router restarted under traffic on the real stack: clients route and call a real agent in a
// loop while the workerd process (router and scaler, Durable Objects included) is killed and started
// again, twice. Every accepted /route/ answer is served by the agent (its token verifies and its
// reqnum is fresh there: the agent refuses reused reqnums), reqnums are strictly increasing in real
// time across the restarts, routing resumes, and the agent's next reports reach the restarted router.
// Issue 7, "Router Durable Object evicted/restarted under traffic" (router-worker/test/eviction.test.ts
// resets the object alone, in workerd).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VastClient } from "../../demo/vast-client.ts";
import { endpoint, ledgerMatchesAccount, testStack, waitFor, workers, type TestStack } from "./stack.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await testStack();
}, 120_000);
afterAll(async () => stack?.close(), 60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Routed {
  sentAt: number;
  answeredAt: number;
  reqnum: number;
  workerStatus: number;
  workerBody: string;
}

describe("router restarted under traffic", () => {
  it("serves every accepted answer, keeps reqnums increasing across restarts, and resumes from the next reports", async () => {
    const { name, apiKey } = await endpoint(stack, { cold_workers: 0, max_workers: 1 });
    const warm = await new VastClient({ router: stack.url.origin, endpoint: name, apiKey, maxPollInterval: 1, timeoutS: 120 }).call(
      "/v1/completions",
      { model: "sim-model", prompt: "warm", max_tokens: 2 },
      { cost: 2 },
    );
    expect(warm.status).toBe(200);

    const routed: Routed[] = [];
    const retried = { network: 0, status: new Map<number, number>() };
    let running = true;
    // A client as Vast's SDK behaves: re-route with the same request_idx on a broken connection or a 5xx.
    const loop = async (n: number) => {
      for (let i = 0; running; i++) {
        let idx = 0;
        for (;;) {
          const sentAt = performance.now();
          let res: Response;
          try {
            res = await fetch(new URL("/route/", stack.url), {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ endpoint: name, api_key: apiKey, cost: 2, request_idx: idx }),
            });
          } catch {
            retried.network++;
            await sleep(200);
            continue;
          }
          const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
          if (res.status !== 200 || typeof body.url !== "string") {
            retried.status.set(res.status, (retried.status.get(res.status) ?? 0) + 1);
            if (typeof body.request_idx === "number") idx = body.request_idx;
            await sleep(200);
            continue;
          }
          const answeredAt = performance.now();
          const worker = await fetch(new URL("/v1/completions", body.url), {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ auth_data: body, payload: { model: "sim-model", prompt: `client ${n} call ${i}`, max_tokens: 2 } }),
          });
          routed.push({ sentAt, answeredAt, reqnum: body.reqnum as number, workerStatus: worker.status, workerBody: await worker.text() });
          break;
        }
        await sleep(50);
      }
    };
    const loops = [0, 1, 2].map(loop);
    const restartedAt: number[] = [];
    for (let r = 0; r < 2; r++) {
      await sleep(3000);
      restartedAt.push(performance.now());
      await stack.restartWorkers();
    }
    await sleep(3000);
    running = false;
    await Promise.all(loops);

    // Every accepted answer was served: none refused by the agent as a replay or a bad token.
    expect(routed.filter((r) => r.workerStatus !== 200).map((r) => `${r.workerStatus} ${r.workerBody.slice(0, 200)}`)).toEqual([]);
    // Routing resumed after each restart.
    for (const t of restartedAt) expect(routed.filter((r) => r.sentAt > t).length).toBeGreaterThan(3);
    // Strictly increasing in real time, across the restarts.
    expect(new Set(routed.map((r) => r.reqnum)).size).toBe(routed.length);
    const byAnswer = [...routed].sort((a, b) => a.answeredAt - b.answeredAt);
    for (const b of routed) {
      const before = byAnswer.filter((a) => a.answeredAt < b.sentAt);
      if (before.length > 0) expect(b.reqnum).toBeGreaterThan(Math.max(...before.map((a) => a.reqnum)));
    }
    // The router that restarted hears the agent again: a fresh report, the worker ready.
    await waitFor("a fresh report after the restarts", async () => {
      const ws = await workers(stack, name);
      return ws.length === 1 && ws[0]!.phase === "ready" && (ws[0] as unknown as { last_report_age_s: number }).last_report_age_s < 5;
    });
    await stack.scaled();
    expect((await ledgerMatchesAccount(stack)).ok).toBe(true);
    console.log(`router-restart: ${routed.length} calls served, ${retried.network} route retries on a broken connection, route retries by status ${JSON.stringify(Object.fromEntries(retried.status))}`);
  }, 180_000);
});
