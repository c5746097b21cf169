import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT_DEFAULTS } from "../../core/endpoint.ts";
import { adminCall, call, json, makeEndpoint, postJson, readyWorker, routeOk, tableCounts } from "./helpers.ts";

describe("admin API", () => {
  it("refuses calls without the admin token, in the {code, message} shape", async () => {
    for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: "Basic abc" }] as Record<string, string>[]) {
      const res = await call("/api/v1/endpoints", { headers });
      expect([400, 401]).toContain(res.status);
      expect(await json(res)).toMatchObject({ code: "unauthorized" });
    }
  });

  it("creates an endpoint with Vast's defaults, lists, reads, patches and deletes it", async () => {
    const name = `crud-${Date.now()}`;
    const created = await adminCall("POST", "/endpoints", { name, max_workers: 4 });
    expect(created.status).toBe(201);
    expect(await json(created)).toMatchObject({ ...ENDPOINT_DEFAULTS, name, max_workers: 4 });
    const listed = await json<{ endpoints: { name: string }[] }>(await adminCall("GET", "/endpoints"));
    expect(listed.endpoints.map((e) => e.name)).toContain(name);
    expect(await json(await adminCall("GET", `/endpoints/${name}`))).toMatchObject({ name, target_util: 0.9 });
    const patched = await adminCall("PATCH", `/endpoints/${name}`, { target_util: 0.5, inactivity_timeout: 120 });
    expect(await json(patched)).toMatchObject({ target_util: 0.5, inactivity_timeout: 120, max_workers: 4 });
    expect((await adminCall("DELETE", `/endpoints/${name}`)).status).toBe(200);
    expect((await adminCall("GET", `/endpoints/${name}`)).status).toBe(404);
    // The name is free again once deleted.
    expect((await adminCall("POST", "/endpoints", { name })).status).toBe(201);
  });

  it("rejects a duplicate endpoint with 409 and changes nothing", async () => {
    const { name } = await makeEndpoint();
    const before = await tableCounts();
    const res = await adminCall("POST", "/endpoints", { name });
    expect(res.status).toBe(409);
    expect(await json(res)).toMatchObject({ code: "conflict" });
    expect(await tableCounts()).toEqual(before);
  });

  it("creates and lists worker groups", async () => {
    const { name } = await makeEndpoint();
    const res = await adminCall("POST", `/endpoints/${name}/workergroups`, {
      name: "a100",
      image: "vllm/vllm-openai:latest",
      search_params: { gpu_name: { eq: "A100" }, reliability: { gte: 0.98 } },
      gpu_ram: 40,
    });
    expect(res.status).toBe(201);
    const groups = await json<{ workergroups: { name: string; gpu_ram: number; cold_workers: number | null }[] }>(
      await adminCall("GET", `/endpoints/${name}/workergroups`),
    );
    expect(groups.workergroups).toEqual([expect.objectContaining({ name: "a100", gpu_ram: 40, cold_workers: null })]);
    const noImage = await adminCall("POST", `/endpoints/${name}/workergroups`, { name: "b" });
    expect(noImage.status).toBe(400);
  });

  it("stores API keys as hashes only, and a revoked key stops working at once", async () => {
    const { name, apiKey } = await makeEndpoint();
    await readyWorker(name, 4001);
    await routeOk(name, apiKey);
    const stored = await env.DB.prepare("SELECT key_hash FROM api_keys").all<{ key_hash: string }>();
    expect(stored.results.some((r) => r.key_hash === apiKey)).toBe(false);
    expect(JSON.stringify(stored.results)).not.toContain(apiKey);
    const second = await json<{ id: string; api_key: string }>(await adminCall("POST", `/endpoints/${name}/keys`));
    await routeOk(name, second.api_key);
    expect((await adminCall("DELETE", `/endpoints/${name}/keys/${second.id}`)).status).toBe(200);
    const refused = await postJson("/route/", { endpoint: name, api_key: second.api_key });
    expect(refused.status).toBe(401);
    expect(await json(refused)).toEqual({ error: "Authentication failed" });
    await routeOk(name, apiKey);
  });

  it("mints worker credentials and lists live workers from the endpoint's object", async () => {
    const { name } = await makeEndpoint();
    const w = await readyWorker(name, 4002, { max_perf: 42, cur_load: 3 });
    const { workers } = await json<{ workers: Record<string, unknown>[] }>(await adminCall("GET", `/endpoints/${name}/workers`));
    expect(workers).toEqual([expect.objectContaining({ id: w.id, url: w.url, phase: "ready", max_perf: 42, cur_load: 3, error_msg: "" })]);
    expect(JSON.stringify(workers)).not.toContain(w.mtoken);
  });

  it("records admin changes as events", async () => {
    const { name } = await makeEndpoint();
    await adminCall("PATCH", `/endpoints/${name}`, { max_workers: 3 });
    const { events } = await json<{ events: { action: string }[] }>(await adminCall("GET", `/endpoints/${name}/events`));
    expect(events.map((e) => e.action)).toEqual(["endpoint.update", "key.create", "endpoint.create"]);
  });

  it("answers Vast's get_endpoint_workers with the endpoint key or the admin token", async () => {
    const { name, apiKey } = await makeEndpoint();
    const w = await readyWorker(name, 4003);
    const viaKey = await postJson("/get_endpoint_workers/", { endpoint: name, api_key: apiKey });
    expect(await json(viaKey)).toEqual([expect.objectContaining({ id: w.id, status: "idle", url: w.url })]);
    const { id } = await json<{ id: number }>(await adminCall("GET", `/endpoints/${name}`));
    const viaAdmin = await postJson("/get_endpoint_workers/", { id, api_key: "test-admin-token" });
    expect(viaAdmin.status).toBe(200);
    expect((await postJson("/get_endpoint_workers/", { endpoint: name, api_key: "nope" })).status).toBe(401);
  });
});
