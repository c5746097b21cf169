// Worker groups in the endpoint's object: traffic shares for rollouts, overflow groups, spills, live
// share changes, draining deletes, and the per-group metrics.
import { describe, expect, it } from "vitest";
import { hashSecret } from "../../core/secret.ts";
import { adminCall, json, makeEndpoint, readyWorker, report, routeOk, stub } from "./helpers.ts";

const GROUP = { image: "vllm/vllm-openai:latest", gpu_ram: 24 };

async function group(endpoint: string, name: string, extra: Record<string, unknown> = {}) {
  const res = await adminCall("POST", `/endpoints/${endpoint}/workergroups`, { name, ...GROUP, ...extra });
  expect(res.status).toBe(201);
  return json<{ id: number; name: string }>(res);
}

/** Keys enough to route `n` requests at once under the test config's per-key limit (burst 40). */
async function keyHashes(endpoint: string, n: number): Promise<string[]> {
  const keys = await Promise.all(
    Array.from({ length: Math.ceil(n / 40) }, async () => (await json<{ api_key: string }>(await adminCall("POST", `/endpoints/${endpoint}/keys`))).api_key),
  );
  return Promise.all(keys.map((k) => hashSecret(k)));
}

describe("worker groups", () => {
  it("realises 90/10 shares within one point over 10,000 routed requests, and a re-poll stays in its group", async () => {
    const { name } = await makeEndpoint();
    await group(name, "stable", { traffic_share: 90 });
    await group(name, "canary", { traffic_share: 10 });
    const stable = await readyWorker(name, 7001, {}, "stable");
    const canary = await readyWorker(name, 7002, {}, "canary");
    const hashes = await keyHashes(name, 10_200);
    const s = stub(name);
    const urls: string[] = [];
    const idxs: number[] = [];
    for (let batch = 0; batch < 100; batch++) {
      // Both keep reporting, as agents do: on a busy machine the 10,000 routes outlast STALE_AFTER_MS.
      if (batch % 10 === 9) for (const w of [stable, canary]) expect((await report(w)).status).toBe(200);
      const outs = await Promise.all(
        Array.from({ length: 100 }, (_, i) => s.route({ endpoint: name, keyHash: hashes[Math.floor((batch * 100 + i) / 40)]!, cost: 0 })),
      );
      for (const o of outs) {
        if (o.kind !== "ready") throw new Error(`not routed: ${JSON.stringify(o)}`);
        urls.push(o.url);
        idxs.push(o.request_idx);
      }
    }
    const share = urls.filter((u) => u === canary.url).length / urls.length;
    expect(Math.abs(share - 0.1)).toBeLessThan(0.01);
    expect(urls.filter((u) => u === stable.url).length + urls.filter((u) => u === canary.url).length).toBe(10_000);
    // Re-polls of the first 200 requests land where they landed the first time. The workers report
    // again first: on a busy machine the 10,000 routes can outlast STALE_AFTER_MS since their first report.
    for (const w of [stable, canary]) expect((await report(w)).status).toBe(200);
    for (let i = 0; i < 200; i++) {
      const again = await s.route({ endpoint: name, keyHash: hashes[250 + Math.floor(i / 40)]!, cost: 0, request_idx: idxs[i] });
      expect(again).toMatchObject({ kind: "ready", url: urls[i], request_idx: idxs[i] });
    }
  }, 120_000);

  it("gives an overflow group nothing while the primary has room, and the excess when it has none", async () => {
    const { name, apiKey } = await makeEndpoint({ max_queue_time: 10 });
    await group(name, "main");
    await group(name, "spill", { role: "overflow" });
    const main = await readyWorker(name, 7011, { max_perf: 10 }, "main");
    const spill = await readyWorker(name, 7012, { max_perf: 1000 }, "spill");
    // 11 requests of 9 units: the main worker's queue reaches 99 units, 9.9 s of its 10 units/s ≤ 10 s.
    for (let i = 0; i < 11; i++) expect((await routeOk(name, apiKey, { cost: 9 })).url).toBe(main.url);
    // One more would wait 10.8 s: the excess spills to the overflow group.
    for (let i = 0; i < 5; i++) expect((await routeOk(name, apiKey, { cost: 9 })).url).toBe(spill.url);
    const metrics = await json<Record<string, unknown>>(await adminCall("GET", `/endpoints/${name}/workergroups/spill/metrics`));
    expect(metrics).toMatchObject({ group: "spill", role: "overflow", requests: 5, workload_routed: 45, workers: 1 });
  });

  it("does not fail requests another group can take when one group has no ready worker", async () => {
    const { name, apiKey } = await makeEndpoint();
    await group(name, "a");
    await group(name, "b");
    await readyWorker(name, 7021, { loadtime: 0, max_perf: 0 }, "a");
    const b = await readyWorker(name, 7022, {}, "b");
    for (let i = 0; i < 30; i++) expect((await routeOk(name, apiKey, { cost: 1 })).url).toBe(b.url);
  });

  it("applies a share change on the next route, records it, and drains a deleted group", async () => {
    const { name, apiKey } = await makeEndpoint();
    await group(name, "stable", { traffic_share: 50 });
    await group(name, "canary", { traffic_share: 50 });
    const stable = await readyWorker(name, 7031, {}, "stable");
    const canary = await readyWorker(name, 7032, {}, "canary");
    const before = new Set((await Promise.all(Array.from({ length: 30 }, () => routeOk(name, apiKey, { cost: 0 })))).map((a) => a.url));
    expect(before).toEqual(new Set([stable.url, canary.url]));

    const patched = await adminCall("PATCH", `/endpoints/${name}/workergroups/canary`, { traffic_share: 0 });
    expect(await json(patched)).toMatchObject({ name: "canary", traffic_share: 0 });
    for (let i = 0; i < 30; i++) expect((await routeOk(name, apiKey, { cost: 0 })).url).toBe(stable.url);
    const { events } = await json<{ events: { action: string; detail: Record<string, unknown> }[] }>(await adminCall("GET", `/endpoints/${name}/events`));
    expect(events[0]).toMatchObject({ action: "workergroup.update", detail: { group: "canary", traffic_share: 0 } });

    await adminCall("PATCH", `/endpoints/${name}/workergroups/canary`, { traffic_share: 100 });
    expect((await adminCall("DELETE", `/endpoints/${name}/workergroups/stable`)).status).toBe(200);
    for (let i = 0; i < 30; i++) expect((await routeOk(name, apiKey, { cost: 0 })).url).toBe(canary.url);
    const groups = await json<{ workergroups: { name: string }[] }>(await adminCall("GET", `/endpoints/${name}/workergroups`));
    expect(groups.workergroups.map((g) => g.name)).toEqual(["canary"]);
    // A hand-attached worker can no longer join the deleted group.
    expect((await adminCall("POST", `/endpoints/${name}/workers`, { group: "stable" })).status).toBe(404);
  });

  it("answers the per-group metrics with traffic, queue, capacity by GPU and cost fields", async () => {
    const { name, apiKey } = await makeEndpoint();
    await group(name, "h100", { traffic_share: 1 });
    await readyWorker(name, 7041, { max_perf: 250, gpu_name: "H100 SXM" }, "h100");
    for (let i = 0; i < 4; i++) await routeOk(name, apiKey, { cost: 25 });
    const res = await adminCall("GET", `/endpoints/${name}/workergroups/h100/metrics`);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      endpoint: name,
      group: "h100",
      traffic_share: 1,
      role: "primary",
      window_s: expect.any(Number),
      requests: 4,
      workload_routed: 100,
      workload_served: 0,
      demand_workload: 100,
      realised_share: 1,
      queue_wait_p50_s: expect.any(Number),
      queue_wait_p99_s: expect.any(Number),
      max_perf_by_gpu: { "H100 SXM": 250 },
      workers: 1,
      dph_now: 0,
      workload_per_dollar: null,
    });
    expect((await adminCall("GET", `/endpoints/${name}/workergroups/nope/metrics`)).status).toBe(404);
  });
});
