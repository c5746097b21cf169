import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { keyLookup, verifyToken, type Jwks } from "../../core/token.ts";
import { verifyVastSignature } from "../../core/vast-signature.ts";
import type { EndpointObject } from "../../router-worker/src/endpoint-object.ts";
import { adminCall, attachWorker, call, json, makeEndpoint, postJson, readyWorker, report, routeOk, stub } from "./helpers.ts";

describe("POST /route/", () => {
  it("routes to a ready worker with a Vast signature and a token that verify", async () => {
    const { name, apiKey } = await makeEndpoint();
    const w = await readyWorker(name, 3001);
    const answer = await routeOk(name, apiKey, { cost: 256 });
    expect(answer).toMatchObject({ endpoint: name, url: w.url, cost: 256 });
    expect(answer.reqnum).toBeGreaterThan(0);
    expect(answer.request_idx).toBeGreaterThan(0);
    expect(answer.__request_id).toMatch(/[0-9a-f-]{36}/);

    const pem = await (await call("/pubkey/")).text();
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(await verifyVastSignature(pem, w.url, answer.signature)).toBe(true);
    expect(await verifyVastSignature(pem, "http://10.9.9.9:1", answer.signature)).toBe(false);

    const jwks = await json<Jwks>(await call("/.well-known/jwks.json"));
    const now = Math.floor(Date.now() / 1000);
    const claims = await verifyToken(answer.token, keyLookup(jwks), { audience: w.url, endpoint: name, nowS: now, skewS: 5 });
    expect(claims).toMatchObject({ aud: w.url, endpoint: name, reqnum: answer.reqnum, request_idx: answer.request_idx, cost: 256 });
    expect(claims.exp - claims.iat).toBe(60);
    await expect(verifyToken(answer.token, keyLookup(jwks), { audience: "http://other:1", endpoint: name, nowS: now, skewS: 5 })).rejects.toThrow();
  });

  it("accepts the key as a Bearer header or in the query, as Vast's SDK sends it", async () => {
    const { name, apiKey } = await makeEndpoint();
    await readyWorker(name, 3002);
    const viaHeader = await postJson("/route/", { endpoint: name }, { authorization: `Bearer ${apiKey}` });
    expect((await json(viaHeader)).url).toBeTruthy();
    const viaQuery = await postJson(`/route/?api_key=${apiKey}`, { endpoint: name });
    expect((await json(viaQuery)).url).toBeTruthy();
  });

  it("bounds the token lifetime by replay_timeout", async () => {
    const { name, apiKey } = await makeEndpoint();
    await readyWorker(name, 3003);
    const answer = await routeOk(name, apiKey, { replay_timeout: 7 });
    const [, payload] = answer.token.split(".");
    const claims = JSON.parse(atob(payload!.replace(/-/g, "+").replace(/_/g, "/"))) as { iat: number; exp: number };
    expect(claims.exp - claims.iat).toBe(7);
  });

  it("issues strictly increasing reqnums, also after the object restarts", async () => {
    const { name, apiKey } = await makeEndpoint();
    await readyWorker(name, 3004);
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) seen.push((await routeOk(name, apiKey)).reqnum);
    const s = stub(name);
    await runInDurableObject(s, (instance: EndpointObject) => {
      (instance as unknown as { marker: string }).marker = "before restart";
    });
    await runInDurableObject(s, (_instance, state) => state.abort("test: restart the object")).catch(() => undefined);
    // The aborted stub is broken; a fresh one reaches the restarted object.
    const restarted = await runInDurableObject(stub(name), (instance: EndpointObject) => (instance as unknown as { marker?: string }).marker);
    expect(restarted).toBeUndefined();
    // The worker's last report survived the restart: routing resumes without waiting for a report.
    for (let i = 0; i < 5; i++) seen.push((await routeOk(name, apiKey)).reqnum);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
  });

  it("adds no load when a request is re-polled with its request_idx", async () => {
    const { name, apiKey } = await makeEndpoint();
    await readyWorker(name, 3005);
    const first = await routeOk(name, apiKey, { cost: 40 });
    const before = await stub(name).snapshot();
    const again = await routeOk(name, apiKey, { cost: 40, request_idx: first.request_idx });
    const after = await stub(name).snapshot();
    expect(again.request_idx).toBe(first.request_idx);
    expect(again.reqnum).toBeGreaterThan(first.reqnum);
    expect(after.workers[0]!.pending_load).toBe(40);
    expect(before.workers[0]!.pending_load).toBe(40);
    expect(after.buckets.reduce((s, b) => s + b.requests, 0)).toBe(1);
  });

  it("never routes to an errored, stale, loading or draining worker", async () => {
    const { name, apiKey } = await makeEndpoint();
    const errored = await readyWorker(name, 3010);
    await report(errored, { error_msg: "CUDA out of memory" });
    const stale = await readyWorker(name, 3011);
    await readyWorker(name, 3012, { loadtime: 0, max_perf: 0 });
    await readyWorker(name, 3013, { state: "draining" });
    const good = await readyWorker(name, 3014, { max_perf: 1 });
    // The stale worker last reported 31 s ago (its record is aged, as if time had passed).
    await runInDurableObject(stub(name), (instance: EndpointObject) => {
      const workers = (instance as unknown as { workers: Map<string, { last_report_at: number }> }).workers;
      workers.get(stale.id)!.last_report_at -= 31_000;
    });
    for (let i = 0; i < 20; i++) expect((await routeOk(name, apiKey, { cost: 1 })).url).toBe(good.url);
    const phases = Object.fromEntries((await stub(name).listWorkers()).map((w) => [w.id, w.phase]));
    expect(phases[errored.id]).toBe("error");
    expect(phases[stale.id]).toBe("stale");
  });

  it("spreads a burst across workers in proportion to max_perf", async () => {
    const { name, apiKey } = await makeEndpoint();
    const perf = [10, 20, 30, 40];
    const workers = await Promise.all(perf.map((p, i) => readyWorker(name, 3020 + i, { max_perf: p })));
    // Eight keys, so the per-key rate limit of the test config (burst 40) stays out of the way.
    const keys = [apiKey, ...(await Promise.all(Array.from({ length: 7 }, async () => (await json<{ api_key: string }>(await adminCall("POST", `/endpoints/${name}/keys`))).api_key)))];
    const counts = new Map<string, number>();
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => routeOk(name, keys[i % keys.length]!, { cost: 5 })));
    for (const a of answers) counts.set(a.url, (counts.get(a.url) ?? 0) + 1);
    workers.forEach((w, i) => {
      const share = (counts.get(w.url) ?? 0) / answers.length;
      expect(share).toBeCloseTo(perf[i]! / 100, 1);
    });
  });

  it("holds a call while no worker is ready and answers as soon as one reports ready", async () => {
    const { name, apiKey } = await makeEndpoint();
    // Attached (not yet reporting) before the call: only its ready report falls inside the 300-ms
    // hold, which attaching too could outlast on a busy machine.
    const w = await attachWorker(name, 3030);
    const pending = postJson("/route/", { endpoint: name, api_key: apiKey });
    await new Promise((r) => setTimeout(r, 50));
    expect((await report(w)).status).toBe(200);
    const answer = await json(await pending);
    expect(answer.url).toBe(w.url);
    const calls = await (env.SCALER as unknown as { calls(): Promise<{ endpoint: string }[]> }).calls();
    expect(calls.some((c) => c.endpoint === name)).toBe(true);
  });

  it("answers without url, with a status and the request_idx to re-poll, when nothing becomes ready", async () => {
    const { name, apiKey } = await makeEndpoint();
    const loading = await readyWorker(name, 3040, { loadtime: 0, max_perf: 0 });
    const res = await postJson("/route/", { endpoint: name, api_key: apiKey, cost: 10 });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.url).toBeUndefined();
    expect(body.status).toBe("loading: 1 worker starting");
    expect(body.request_idx).toBeGreaterThan(0);
    const snap = await stub(name).snapshot();
    expect(snap.waiting).toEqual({ requests: 1, workload: 10 });
    // The re-poll with the same idx is the same request: still one arrival once the worker is ready.
    await report(loading);
    const answer = await routeOk(name, apiKey, { cost: 10, request_idx: body.request_idx });
    expect(answer.request_idx).toBe(body.request_idx);
    expect((await stub(name).snapshot()).buckets.reduce((s, b) => s + b.requests, 0)).toBe(1);
  });

  it("says the endpoint is stopped instead of routing", async () => {
    const { name, apiKey } = await makeEndpoint({ endpoint_state: "stopped" });
    await readyWorker(name, 3050);
    const body = await json(await postJson("/route/", { endpoint: name, api_key: apiKey }));
    expect(body.url).toBeUndefined();
    expect(body.status).toBe("endpoint stopped");
  });
});

describe("per-key rate limit", () => {
  it("answers 429 with Retry-After once a key exceeds its rate, and other keys are unaffected", async () => {
    // The test config allows 20 calls/s per key with a burst of 40: spend the burst at once.
    const { name, apiKey } = await makeEndpoint();
    await readyWorker(name, 3060);
    const other = await json<{ api_key: string }>(await adminCall("POST", `/endpoints/${name}/keys`));
    const statuses = await Promise.all(
      Array.from({ length: 100 }, () => postJson("/route/", { endpoint: name, api_key: apiKey, cost: 0 }).then(async (r) => [r.status, r.headers.get("retry-after"), await r.text()] as const)),
    );
    const limited = statuses.filter(([s]) => s === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(statuses.length - limited.length).toBeGreaterThanOrEqual(40);
    expect(Number(limited[0]![1])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(limited[0]![2])).toEqual({ error_msg: "too many /route/ calls for this key" });
    expect((await routeOk(name, other.api_key)).url).toBeTruthy();
  });
});

describe("endpoint object restarted under traffic", () => {
  it("answers every call (200, or 503 + Retry-After to retry), keeps reqnums increasing, and resumes routing", async () => {
    const { name, apiKey } = await makeEndpoint();
    const keys = [apiKey, ...(await Promise.all(Array.from({ length: 3 }, async () => (await json<{ api_key: string }>(await adminCall("POST", `/endpoints/${name}/keys`))).api_key)))];
    await readyWorker(name, 3080);
    const calls = Array.from({ length: 60 }, (_, i) =>
      postJson("/route/", { endpoint: name, api_key: keys[i % keys.length], cost: 1 }).then(async (r) => ({ status: r.status, retry: r.headers.get("retry-after"), body: await json(r) })),
    );
    await new Promise((r) => setTimeout(r, 20));
    await runInDurableObject(stub(name), (_i, state) => state.abort("test: evicted under traffic")).catch(() => undefined);
    const answers = await Promise.all(calls);
    for (const a of answers) {
      expect([200, 503]).toContain(a.status);
      if (a.status === 503) expect(a.retry).toBe("1");
    }
    const after = await routeOk(name, apiKey);
    const reqnums = [...answers.filter((a) => a.status === 200 && a.body.url).map((a) => a.body.reqnum as number)];
    expect(new Set(reqnums).size).toBe(reqnums.length);
    expect(after.reqnum).toBeGreaterThan(Math.max(0, ...reqnums));
  });
});

describe("drain at the scaler's request", () => {
  it("stops routing to a drained worker, survives its reports, and resumes when undrained", async () => {
    const { name, apiKey } = await makeEndpoint();
    const a = await readyWorker(name, 3090);
    const b = await readyWorker(name, 3091);
    expect(await stub(name).setDrain([a.id, "w_unknown"], true)).toBe(1);
    await report(a, { cur_load: 0 });
    for (let i = 0; i < 10; i++) expect((await routeOk(name, apiKey, { cost: 1 })).url).toBe(b.url);
    const listed = Object.fromEntries((await stub(name).snapshot()).workers.map((w) => [w.id, w]));
    expect(listed[a.id]).toMatchObject({ phase: "draining", drained: true });
    expect(listed[b.id]).toMatchObject({ phase: "ready", drained: false });
    await stub(name).setDrain([a.id], false);
    const urls = new Set((await Promise.all(Array.from({ length: 10 }, () => routeOk(name, apiKey, { cost: 50 })))).map((r) => r.url));
    expect(urls).toEqual(new Set([a.url, b.url]));
  });
});
