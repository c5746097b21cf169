import { describe, expect, it } from "vitest";
import { adminCall, attachWorker, json, makeEndpoint, postJson, readyWorker, report, routeOk, stub } from "./helpers.ts";

describe("worker reports", () => {
  it("accepts Vast's whole field set and shows it in the worker list", async () => {
    const { name } = await makeEndpoint();
    const w = await attachWorker(name, 5001);
    const res = await report(w, {
      loadtime: 33.2,
      cur_load: 120,
      new_load: 40,
      rej_load: 0,
      cur_perf: 80,
      max_perf: 250,
      error_msg: "",
      num_requests_working: 2,
      num_requests_recieved: 17,
      working_request_idxs: [],
      additional_disk_usage: 0.5,
      gpu_name: "RTX 4090",
    });
    expect(res.status).toBe(200);
    const [listed] = await stub(name).listWorkers();
    expect(listed).toMatchObject({ id: w.id, phase: "ready", cur_load: 120, max_perf: 250, loadtime: 33.2, gpu_name: "RTX 4090" });
  });

  it("rejects a wrong mtoken or an unknown id with 401 and changes nothing", async () => {
    const { name } = await makeEndpoint();
    const w = await readyWorker(name, 5002, { cur_load: 5 });
    const before = await stub(name).listWorkers();
    const wrong = await report({ ...w, mtoken: "mt_wrong" }, { cur_load: 999, error_msg: "hijacked" });
    expect(wrong.status).toBe(401);
    expect(await json(wrong)).toEqual({ error: "Authentication failed" });
    const unknown = await report({ ...w, id: "w_doesnotexist" }, { cur_load: 999 });
    expect(unknown.status).toBe(401);
    const after = await stub(name).listWorkers();
    expect(after.map(({ last_report_age_s: _a, ...rest }) => rest)).toEqual(before.map(({ last_report_age_s: _a, ...rest }) => rest));
  });

  it("refuses a deleted endpoint's worker on a new endpoint of the same name, which never routes to it", async () => {
    const { name, apiKey } = await makeEndpoint();
    const old = await readyWorker(name, 5003);
    // Routed once: the Worker now holds the old worker's credential in its cache.
    expect((await routeOk(name, apiKey)).url).toBe(old.url);
    expect((await adminCall("DELETE", `/endpoints/${name}`)).status).toBe(200);
    expect((await adminCall("POST", "/endpoints", { name })).status).toBe(201);
    const key = await json<{ api_key: string }>(await adminCall("POST", `/endpoints/${name}/keys`));

    const waiting = await json(await postJson("/route/", { endpoint: name, api_key: key.api_key, cost: 10 }));
    expect(waiting).not.toHaveProperty("url");
    const refused = await report(old, { cur_load: 1 });
    expect(refused.status).toBe(401);
    expect((await postJson("/delete_requests/", { id: old.id, mtoken: old.mtoken, request_idxs: [1] })).status).toBe(401);
    expect(await stub(name).listWorkers()).toEqual([]);
    // The new endpoint's own workers report and are routed to as usual.
    const fresh = await readyWorker(name, 5004);
    expect((await routeOk(name, key.api_key)).url).toBe(fresh.url);
  });

  it("moves routed load into cur_load when the worker reports the request, and frees it on delete_requests", async () => {
    const { name, apiKey } = await makeEndpoint();
    const w = await readyWorker(name, 5003);
    const a = await routeOk(name, apiKey, { cost: 30 });
    const b = await routeOk(name, apiKey, { cost: 20 });
    expect((await stub(name).snapshot()).workers[0]).toMatchObject({ pending_load: 50 });
    await report(w, { cur_load: 30, working_request_idxs: [a.request_idx] });
    expect((await stub(name).snapshot()).workers[0]).toMatchObject({ pending_load: 20, cur_load: 30 });
    const del = await postJson("/delete_requests/", { id: w.id, mtoken: w.mtoken, request_idxs: [b.request_idx] });
    expect(await json(del)).toEqual({ ok: true, deleted: 1 });
    expect((await stub(name).snapshot()).workers[0]).toMatchObject({ pending_load: 0 });
  });

  it("counts served and rejected load in the history the scaler reads", async () => {
    const { name } = await makeEndpoint();
    const w = await readyWorker(name, 5004);
    await report(w, { cur_perf: 70, rej_load: 15 });
    const { buckets } = await stub(name).snapshot();
    expect(buckets.reduce((s, b) => s + b.served, 0)).toBe(70);
    expect(buckets.reduce((s, b) => s + b.rejected, 0)).toBe(15);
  });
});
