// The router's side of the attack catalogue: its own credentials (the admin token, endpoint API keys,
// worker mtokens) presented wrong in every way an attacker would try. Each row is refused with 401 (or
// 400 for an Authorization header that is not a Bearer one, admin API only) in the route's documented
// shape, and changes nothing: not D1, not the endpoint's live state, not its reqnum sequence.
// docs/RELIABILITY.md counts these rows.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { hashSecret } from "../../core/secret.ts";
import { ADMIN, adminCall, attachWorker, call, json, makeEndpoint, postJson, readyWorker, routeOk, stub, tableCounts, type TestWorker } from "./helpers.ts";

/** A fixture: an endpoint with a ready worker and a key, and credentials that belong elsewhere. */
interface Fixture {
  name: string;
  apiKey: string;
  worker: TestWorker;
  /** A second worker of the same endpoint. */
  sibling: TestWorker;
  /** An endpoint and worker of someone else. */
  other: { name: string; apiKey: string; worker: TestWorker };
  revokedKey: string;
  /** The key of an endpoint that was deleted, then created again under the same name (`reborn`). */
  deadKey: string;
  reborn: string;
}

let f: Fixture;

beforeAll(async () => {
  const { name, apiKey } = await makeEndpoint();
  const worker = await readyWorker(name, 5101);
  const sibling = await readyWorker(name, 5102);
  const o = await makeEndpoint();
  const other = { ...o, worker: await readyWorker(o.name, 5103) };
  const revoked = await json<{ id: string; api_key: string }>(await adminCall("POST", `/endpoints/${name}/keys`));
  expect((await adminCall("DELETE", `/endpoints/${name}/keys/${revoked.id}`)).status).toBe(200);
  const dead = await makeEndpoint();
  // Routed once, so its object has the old key cached when the endpoint goes.
  await readyWorker(dead.name, 5104);
  await routeOk(dead.name, dead.apiKey);
  expect((await adminCall("DELETE", `/endpoints/${dead.name}`)).status).toBe(200);
  expect((await adminCall("POST", "/endpoints", { name: dead.name })).status).toBe(201);
  await readyWorker(dead.name, 5105);
  f = { name, apiKey, worker, sibling, other, revokedKey: revoked.api_key, deadKey: dead.apiKey, reborn: dead.name };
});

/** What an accepted attack could have changed. */
async function observable(names: string[]) {
  const snaps = await Promise.all(names.map((n) => stub(n).snapshot()));
  return {
    tables: await tableCounts(),
    rows: (await env.DB.prepare("SELECT id, status, closed_at FROM workers ORDER BY id").all()).results,
    live: snaps.map((s) => ({
      workers: s.workers.map(({ last_report_age_s: _a, ...w }) => w),
      requests: s.buckets.reduce((n, b) => n + b.requests, 0),
      waiting: s.waiting,
    })),
  };
}

/** The secret with the case of its first letter after the prefix swapped. */
function flipCase(s: string): string {
  const at = s.indexOf("_") + 1 + s.slice(s.indexOf("_") + 1).search(/[A-Za-z]/);
  const c = s[at]!;
  return `${s.slice(0, at)}${c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()}${s.slice(at + 1)}`;
}

describe("admin token attacks: 401 (400 for a non-Bearer header) in {code, message}, nothing created", () => {
  const rows: [string, () => Record<string, string>, string?][] = [
    ["no Authorization header", () => ({})],
    ["an empty Bearer token", () => ({ authorization: "Bearer " })],
    ["a wrong token", () => ({ authorization: "Bearer adm_wrong" })],
    ["the token with a character added", () => ({ authorization: `Bearer ${ADMIN}x` })],
    ["the token with its last character dropped", () => ({ authorization: `Bearer ${ADMIN.slice(0, -1)}` })],
    ["the token in another case", () => ({ authorization: `Bearer ${ADMIN.toUpperCase()}` })],
    ["the token under the Basic scheme", () => ({ authorization: `Basic ${btoa(`admin:${ADMIN}`)}` })],
    ["the token without a scheme", () => ({ authorization: ADMIN })],
    ["the token twice in one header", () => ({ authorization: `Bearer ${ADMIN}, Bearer ${ADMIN}` })],
    ["the token in the query string, no header", () => ({}), `?token=${ADMIN}&api_key=${ADMIN}`],
    ["the token in another header", () => ({ "x-api-key": ADMIN, "x-admin-token": ADMIN })],
    ["an endpoint's API key", () => ({ authorization: `Bearer ${f.apiKey}` })],
    ["a worker's mtoken", () => ({ authorization: `Bearer ${f.worker.mtoken}` })],
  ];

  it.each(rows)("%s", async (_what, headers, query = "") => {
    const before = await observable([f.name]);
    const read = await call(`/api/v1/endpoints${query}`, { headers: headers() });
    const write = await call(`/api/v1/endpoints${query}`, { method: "POST", headers: { ...headers(), "content-type": "application/json" }, body: JSON.stringify({ name: `intruder-${Date.now()}` }) });
    const key = await call(`/api/v1/endpoints/${f.name}/keys${query}`, { method: "POST", headers: headers() });
    for (const res of [read, write, key]) {
      expect([400, 401]).toContain(res.status);
      expect(await json(res)).toEqual({ code: "unauthorized", message: expect.any(String) });
    }
    expect(await observable([f.name])).toEqual(before);
  });
});

describe("API key attacks on /route/ and /get_endpoint_workers/: 401, no reqnum taken, nothing recorded", () => {
  const rows: [string, () => Promise<{ body: Record<string, unknown>; headers?: Record<string, string>; query?: string; endpoint?: string; status?: number }>][] = [
    ["no key", async () => ({ body: {} })],
    // Outside the schema's 1–512 characters: refused as malformed before any key is looked up.
    ["an empty key", async () => ({ body: { api_key: "" }, status: 400 })],
    ["a wrong key", async () => ({ body: { api_key: "ek_wrong" } })],
    ["the key with a character added", async () => ({ body: { api_key: `${f.apiKey}x` } })],
    ["the key with its last character dropped", async () => ({ body: { api_key: f.apiKey.slice(0, -1) } })],
    ["the key in another case", async () => ({ body: { api_key: flipCase(f.apiKey) } })],
    ["a 10,000-character key", async () => ({ body: { api_key: f.apiKey.padEnd(10_000, "A") }, status: 400 })],
    ["another endpoint's key", async () => ({ body: { api_key: f.other.apiKey } })],
    ["a revoked key", async () => ({ body: { api_key: f.revokedKey } })],
    ["a deleted endpoint's key, on the endpoint created again under its name", async () => ({ body: { api_key: f.deadKey }, endpoint: f.reborn })],
    ["the key's stored hash (what a copy of D1 gives)", async () => ({ body: { api_key: await hashSecret(f.apiKey) } })],
    ["the admin token with a character added", async () => ({ body: { api_key: `${ADMIN}x` } })],
    ["a worker's mtoken", async () => ({ body: { api_key: f.worker.mtoken } })],
    ["a wrong key in the body beside the right one as Bearer (the body's key is the one used)", async () => ({ body: { api_key: "ek_wrong" }, headers: { authorization: `Bearer ${f.apiKey}` } })],
    ["a wrong Bearer key", async () => ({ body: {}, headers: { authorization: `Bearer ${f.other.apiKey}` } })],
    ["the key under the Basic scheme", async () => ({ body: {}, headers: { authorization: `Basic ${btoa(`:${f.apiKey}`)}` } })],
    ["a wrong key in the query string", async () => ({ body: {}, query: `?api_key=${encodeURIComponent(`${f.apiKey}x`)}` })],
  ];

  it.each(rows)("%s", async (_what, make) => {
    const attack = await make();
    const endpoint = attack.endpoint ?? f.name;
    const first = await routeOk(f.name, f.apiKey);
    const before = await observable([f.name, f.reborn]);
    const routed = await postJson(`/route/${attack.query ?? ""}`, { endpoint, cost: 1, ...attack.body }, attack.headers);
    const listed = await postJson(`/get_endpoint_workers/${attack.query ?? ""}`, { endpoint, ...attack.body }, attack.headers);
    for (const res of [routed, listed]) {
      expect(res.status).toBe(attack.status ?? 401);
      expect(await json(res)).toEqual(attack.status === 400 ? { error_msg: expect.stringMatching(/api_key/) } : { error: "Authentication failed" });
    }
    expect(await observable([f.name, f.reborn])).toEqual(before);
    // A genuine call takes two numbers (request_idx, then reqnum): the refused one took none.
    expect((await routeOk(f.name, f.apiKey)).reqnum).toBe(first.reqnum + 2);
  });
});

it("the admin token is no API key for /route/ (only Vast's /get_endpoint_workers/ takes it, as Vast's SDK sends the account key there)", async () => {
  const first = await routeOk(f.name, f.apiKey);
  const before = await observable([f.name]);
  const res = await postJson("/route/", { endpoint: f.name, api_key: ADMIN, cost: 1 });
  expect(res.status).toBe(401);
  expect(await json(res)).toEqual({ error: "Authentication failed" });
  expect(await observable([f.name])).toEqual(before);
  expect((await routeOk(f.name, f.apiKey)).reqnum).toBe(first.reqnum + 2);
});

describe("mtoken attacks on /worker_status/ and /delete_requests/: 401, the worker's state unchanged", () => {
  const rows: [string, () => Promise<{ id: unknown; mtoken: unknown; status?: number }>][] = [
    ["a wrong mtoken", async () => ({ id: f.worker.id, mtoken: "mt_wrong" })],
    ["an empty mtoken (malformed: 400)", async () => ({ id: f.worker.id, mtoken: "", status: 400 })],
    ["a 10,000-character mtoken (malformed: 400)", async () => ({ id: f.worker.id, mtoken: f.worker.mtoken.padEnd(10_000, "A"), status: 400 })],
    ["the mtoken with a character added", async () => ({ id: f.worker.id, mtoken: `${f.worker.mtoken}x` })],
    ["the mtoken with its last character dropped", async () => ({ id: f.worker.id, mtoken: f.worker.mtoken.slice(0, -1) })],
    ["the mtoken in another case", async () => ({ id: f.worker.id, mtoken: flipCase(f.worker.mtoken) })],
    ["a sibling worker's mtoken", async () => ({ id: f.worker.id, mtoken: f.sibling.mtoken })],
    ["another endpoint's worker's mtoken", async () => ({ id: f.worker.id, mtoken: f.other.worker.mtoken })],
    ["the right mtoken for another worker's id", async () => ({ id: f.other.worker.id, mtoken: f.worker.mtoken })],
    ["the mtoken's stored hash (what a copy of D1 gives)", async () => ({ id: f.worker.id, mtoken: await hashSecret(f.worker.mtoken) })],
    ["the endpoint's API key", async () => ({ id: f.worker.id, mtoken: f.apiKey })],
    ["the admin token", async () => ({ id: f.worker.id, mtoken: ADMIN })],
    ["an unknown worker id", async () => ({ id: "w_unknown", mtoken: f.worker.mtoken })],
  ];

  it.each(rows)("%s", async (_what, make) => {
    const { id, mtoken, status: expected = 401 } = await make();
    const before = await observable([f.name, f.other.name, f.reborn]);
    // A report that would be visible if accepted: the worker drained to an error with a load.
    const status = await postJson("/worker_status/", { id, mtoken, url: "http://10.6.6.6:6666", cur_load: 99, max_perf: 1, state: "error", error_msg: "owned" });
    const deleted = await postJson("/delete_requests/", { id, mtoken, request_idxs: [1, 2, 3] });
    for (const res of [status, deleted]) {
      expect(res.status).toBe(expected);
      expect(await json(res)).toEqual(expected === 400 ? { error_msg: expect.stringMatching(/mtoken/) } : { error: "Authentication failed" });
    }
    expect(await observable([f.name, f.other.name, f.reborn])).toEqual(before);
  });

  it("the control case: the worker's own mtoken is accepted", async () => {
    const w = await attachWorker(f.other.name, 5106);
    expect((await postJson("/worker_status/", { id: w.id, mtoken: w.mtoken, url: w.url, max_perf: 10 })).status).toBe(200);
  });
});
