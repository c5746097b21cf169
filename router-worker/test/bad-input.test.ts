// Every malformed input gets a clear 4xx in the route's documented shape, and changes nothing:
// not D1, not the endpoint's live state, not its reqnum sequence.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { adminCall, call, json, makeEndpoint, postJson, readyWorker, routeOk, stub, tableCounts } from "./helpers.ts";

async function observable(name: string) {
  const snap = await stub(name).snapshot();
  return {
    tables: await tableCounts(),
    workers: snap.workers.map(({ last_report_age_s: _a, ...w }) => w),
    arrived: snap.buckets.reduce((s, b) => s + b.requests, 0),
    waiting: snap.waiting,
  };
}

function raw(path: string, body: string, contentType = "application/json", headers: Record<string, string> = {}) {
  return call(path, { method: "POST", headers: { "content-type": contentType, ...headers }, body });
}

describe("bad input", async () => {
  it("/route/: each malformed call gets its 4xx and changes nothing", async () => {
    const { name, apiKey } = await makeEndpoint();
    const w = await readyWorker(name, 6001);
    const first = await routeOk(name, apiKey);
    const before = await observable(name);
    const cases: [Promise<Response>, number, Record<string, unknown>][] = [
      [raw("/route/", "{not json"), 400, { error_msg: expect.stringMatching(/JSON/) }],
      [raw("/route/", JSON.stringify({ endpoint: name, api_key: apiKey }), "text/plain"), 415, { error_msg: expect.any(String) }],
      [postJson("/route/", { api_key: apiKey }), 400, { error_msg: expect.stringMatching(/endpoint/) }],
      [postJson("/route/", { endpoint: name, api_key: apiKey, cost: -1 }), 400, { error_msg: expect.stringMatching(/cost/) }],
      [postJson("/route/", { endpoint: name, api_key: apiKey, cost: "Infinity" }), 400, { error_msg: expect.stringMatching(/cost/) }],
      [postJson("/route/", { endpoint: name, api_key: apiKey, cost: 1e300 }), 400, { error_msg: expect.stringMatching(/cost/) }],
      [postJson("/route/", { endpoint: name, api_key: apiKey, request_idx: 1.5 }), 400, { error_msg: expect.stringMatching(/request_idx/) }],
      [postJson("/route/", { endpoint: "../etc", api_key: apiKey }), 400, { error_msg: expect.stringMatching(/endpoint/) }],
      [postJson("/route/", [1, 2, 3]), 400, { error_msg: expect.any(String) }],
      [postJson("/route/", { endpoint: name }), 401, { error: "Authentication failed" }],
      [postJson("/route/", { endpoint: name, api_key: "ek_wrong" }), 401, { error: "Authentication failed" }],
      [postJson("/route/", { endpoint: "no-such-endpoint", api_key: apiKey }), 404, { error_msg: expect.stringMatching(/no-such-endpoint/) }],
      [raw("/route/", JSON.stringify({ endpoint: name, api_key: apiKey, pad: "x".repeat(300_000) })), 413, { error_msg: expect.any(String) }],
      // Valid but for one byte that is not UTF-8, in a field the route ignores: decoding would have hidden it.
      [call("/route/", { method: "POST", headers: { "content-type": "application/json" }, body: new Uint8Array([...new TextEncoder().encode(`{"endpoint":"${name}","api_key":"${apiKey}","x":"`), 0xff, 0x22, 0x7d]) }), 400, { error_msg: "the body is not UTF-8" }],
    ];
    for (const [pending, status, shape] of cases) {
      const res = await pending;
      expect(res.status).toBe(status);
      expect(await json(res)).toEqual(shape);
    }
    expect(await observable(name)).toEqual(before);
    // The sequence did not move either: the next reqnum follows the last good one.
    const next = await routeOk(name, apiKey);
    expect(next.url).toBe(w.url);
    expect(next.reqnum).toBe(first.reqnum + 2);
  });

  it("/worker_status/ and /delete_requests/: malformed reports change nothing", async () => {
    const { name } = await makeEndpoint();
    const w = await readyWorker(name, 6002);
    const before = await observable(name);
    const cases: [Promise<Response>, number][] = [
      [raw("/worker_status/", "nope"), 400],
      [postJson("/worker_status/", { id: w.id }), 400],
      [postJson("/worker_status/", { id: w.id, mtoken: w.mtoken, cur_load: "lots" }), 400],
      [postJson("/worker_status/", { id: w.id, mtoken: w.mtoken, max_perf: -5 }), 400],
      [postJson("/worker_status/", { id: w.id, mtoken: w.mtoken, url: "ftp://x" }), 400],
      [postJson("/worker_status/", { id: w.id, mtoken: w.mtoken, url: "http://user:pw@host:1" }), 400],
      [postJson("/worker_status/", { id: { nested: true }, mtoken: w.mtoken }), 400],
      [postJson("/worker_status/", { id: w.id, mtoken: "wrong", cur_load: 1 }), 401],
      [postJson("/delete_requests/", { id: w.id, mtoken: w.mtoken, request_idxs: ["a"] }), 400],
      [postJson("/delete_requests/", { id: w.id, mtoken: "wrong", request_idxs: [1] }), 401],
    ];
    for (const [pending, status] of cases) expect((await pending).status).toBe(status);
    expect(await observable(name)).toEqual(before);
  });

  it("admin API: wrong shapes, unknown fields and bad names get 4xx {code, message} and change nothing", async () => {
    const { name } = await makeEndpoint();
    const before = await observable(name);
    const cases: [Promise<Response>, number][] = [
      [adminCall("POST", "/endpoints", { name: "has space" }), 400],
      [adminCall("POST", "/endpoints", { name: "ok-name", target_util: 2 }), 400],
      [adminCall("POST", "/endpoints", { name: "ok-name", surprise: 1 }), 400],
      [adminCall("POST", "/endpoints", { name: "ok-name", max_workers: 1.5 }), 400],
      [adminCall("POST", "/endpoints", { name }), 409],
      [adminCall("PATCH", `/endpoints/${name}`, {}), 400],
      [adminCall("PATCH", `/endpoints/${name}`, { endpoint_state: "exploded" }), 400],
      [adminCall("PATCH", "/endpoints/nope", { max_workers: 1 }), 404],
      [adminCall("POST", `/endpoints/${name}/workergroups`, { image: "x", gpu_ram: "big" }), 400],
      [adminCall("POST", `/endpoints/${name}/workers`, { group: "missing" }), 404],
      [adminCall("DELETE", `/endpoints/${name}/keys/key_nope`), 404],
      [adminCall("GET", "/endpoints/bad%20name"), 400],
    ];
    for (const [pending, status] of cases) {
      const res = await pending;
      expect(res.status).toBe(status);
      expect(await json(res)).toEqual({ code: expect.any(String), message: expect.any(String) });
    }
    expect(await observable(name)).toEqual(before);
  });

  it("random JSON bodies on every public route get a 4xx, never a 5xx, and change nothing", async () => {
    const { name } = await makeEndpoint();
    await readyWorker(name, 6003);
    const before = await observable(name);
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record({ endpoint: fc.oneof(fc.constant(name), fc.string()), api_key: fc.string(), cost: fc.jsonValue(), request_idx: fc.jsonValue() }, { requiredKeys: [] }),
      fc.record({ id: fc.jsonValue(), mtoken: fc.string(), cur_load: fc.jsonValue(), url: fc.string() }, { requiredKeys: [] }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("/route/", "/worker_status/", "/delete_requests/", "/get_endpoint_workers/"), body, async (path, value) => {
        const res = await postJson(path, value);
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        await res.arrayBuffer();
      }),
      { numRuns: 150 },
    );
    expect(await observable(name)).toEqual(before);
  });
});
