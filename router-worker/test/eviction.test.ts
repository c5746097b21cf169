// The endpoint's Durable Object evicted (reset with ctx.abort) again and again while clients route
// through it: every call is answered (200, or 503 + Retry-After that clients retry), reqnums stay
// strictly increasing in real time across the restarts (an answer received before a call was sent
// always has the smaller reqnum, so no worker ever sees one reused), every accepted answer carries a
// token that verifies, and routing follows the next reports. Issue 7, "Router Durable Object
// evicted/restarted under traffic"; test/e2e/router-restart.test.ts does the same with real agents.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { keyLookup, verifyToken, type Jwks } from "../../core/token.ts";
import { LOAD_BUCKET_MS } from "../../core/snapshot.ts";
import { adminCall, call, json, makeEndpoint, postJson, readyWorker, report, routeOk, stub } from "./helpers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits, if need be, for a fresh 10-s bucket, so a few calls land in one bucket with time to spare. */
async function startEarlyInBucket(): Promise<void> {
  const sinceStart = Date.now() % LOAD_BUCKET_MS;
  if (sinceStart > LOAD_BUCKET_MS / 2) await sleep(LOAD_BUCKET_MS - sinceStart + 20);
}

async function evict(name: string): Promise<void> {
  await runInDurableObject(stub(name), (_i, state) => state.abort("test: evicted under traffic")).catch(() => undefined);
}

interface Answer {
  sentAt: number;
  answeredAt: number;
  status: number;
  retryAfter: string | null;
  body: Record<string, unknown>;
}

describe("endpoint object evicted repeatedly under traffic", () => {
  it("answers every call, keeps reqnums strictly increasing in real time, and every accepted token verifies", async () => {
    const { name, apiKey } = await makeEndpoint();
    // One key per client loop: the per-key rate limit (20/s in tests) stays out of the way.
    const keys = [apiKey, ...(await Promise.all(Array.from({ length: 3 }, async () => (await json<{ api_key: string }>(await adminCall("POST", `/endpoints/${name}/keys`))).api_key)))];
    const w = await readyWorker(name, 3101);
    const answers: Answer[] = [];
    let running = true;
    const loop = async (key: string) => {
      while (running) {
        const sentAt = performance.now();
        const res = await postJson("/route/", { endpoint: name, api_key: key, cost: 1 });
        answers.push({ sentAt, answeredAt: performance.now(), status: res.status, retryAfter: res.headers.get("retry-after"), body: await json(res) });
        await sleep(60);
      }
    };
    const loops = keys.map(loop);
    const EVICTIONS = 6;
    const evictedAt: number[] = [];
    for (let i = 0; i < EVICTIONS; i++) {
      await sleep(150);
      evictedAt.push(performance.now());
      await evict(name);
    }
    await sleep(300);
    running = false;
    await Promise.all(loops);

    // Every call answered: routed, or told to retry.
    for (const a of answers) {
      expect([200, 503]).toContain(a.status);
      if (a.status === 503) expect(a.retryAfter).toBe("1");
    }
    const accepted = answers.filter((a) => a.status === 200 && typeof a.body.url === "string");
    expect(accepted.length).toBeGreaterThan(EVICTIONS * 2);
    // Routing resumed after every eviction, from the persisted report (no new report was sent).
    for (const t of evictedAt) expect(accepted.some((a) => a.sentAt > t)).toBe(true);

    // Strictly increasing in real time: whatever was answered before a call was sent has a smaller reqnum.
    const reqnum = (a: Answer) => a.body.reqnum as number;
    expect(new Set(accepted.map(reqnum)).size).toBe(accepted.length);
    const byAnswer = [...accepted].sort((a, b) => a.answeredAt - b.answeredAt);
    for (const b of accepted) {
      const before = byAnswer.filter((a) => a.answeredAt < b.sentAt);
      if (before.length > 0) expect(reqnum(b)).toBeGreaterThan(Math.max(...before.map(reqnum)));
    }

    console.log(`eviction: ${EVICTIONS} evictions, ${answers.length} calls, ${accepted.length} routed, ${answers.filter((a) => a.status === 503).length} answered 503 + Retry-After`);
    // Every accepted answer is usable: its token verifies for the worker, with its own reqnum.
    const jwks = await json<Jwks>(await call("/.well-known/jwks.json"));
    const nowS = Math.floor(Date.now() / 1000);
    for (const a of accepted) {
      const claims = await verifyToken(a.body.token as string, keyLookup(jwks), { audience: w.url, endpoint: name, nowS, skewS: 5 });
      expect(claims.reqnum).toBe(reqnum(a));
    }
  });

  it("follows the next reports after an eviction: a worker that errored is left, a new one is used", async () => {
    const { name, apiKey } = await makeEndpoint();
    const a = await readyWorker(name, 3110);
    expect((await routeOk(name, apiKey, { cost: 1 })).url).toBe(a.url);
    await evict(name);
    // The first reports after the restart: a breaks, b arrives.
    expect((await report(a, { error_msg: "CUDA error: an illegal memory access" })).status).toBe(200);
    const b = await readyWorker(name, 3111);
    const urls = new Set<string>();
    for (let i = 0; i < 10; i++) urls.add((await routeOk(name, apiKey, { cost: 1 })).url);
    expect(urls).toEqual(new Set([b.url]));
    await evict(name);
    // a recovers: the next report puts it back in rotation.
    expect((await report(a, { error_msg: "" })).status).toBe(200);
    for (let i = 0; i < 30 && urls.size < 2; i++) urls.add((await routeOk(name, apiKey, { cost: 50 })).url);
    expect(urls).toEqual(new Set([a.url, b.url]));
  });

  it("a call held for a worker when the object is evicted is answered after a retry with its request_idx", async () => {
    const { name, apiKey } = await makeEndpoint();
    const waiting = await json<{ request_idx: number; status: string }>(await postJson("/route/", { endpoint: name, api_key: apiKey, cost: 5 }));
    expect(waiting.request_idx).toBeGreaterThan(0);
    // A second call is being held (ROUTE_HOLD_MS) when the object goes away: it gets a 503 to retry.
    const held = postJson("/route/", { endpoint: name, api_key: apiKey, cost: 5, request_idx: waiting.request_idx });
    await sleep(50);
    await evict(name);
    const heldAnswer = await held;
    expect([200, 503]).toContain(heldAnswer.status);
    await readyWorker(name, 3120);
    // The client's retry with its request_idx is answered with a worker and a fresh reqnum.
    const answer = await routeOk(name, apiKey, { cost: 5, request_idx: waiting.request_idx });
    expect(answer.reqnum).toBeGreaterThan(0);
    expect(answer.url).toBeTruthy();
  });

  it("keeps the load history's closed buckets across an eviction, so the scaler's forecast is not blinded", async () => {
    const { name, apiKey } = await makeEndpoint();
    await readyWorker(name, 3111);
    await startEarlyInBucket();
    for (let i = 0; i < 5; i++) await routeOk(name, apiKey, { cost: 3 });
    const before = (await stub(name).snapshot()).buckets.find((b) => b.requests === 5);
    expect(before).toMatchObject({ arrived: 15, requests: 5 });
    // The bucket closes when the next one starts (here with a call in the next bucket); then evict at once.
    await sleep(LOAD_BUCKET_MS - (Date.now() % LOAD_BUCKET_MS) + 20);
    await routeOk(name, apiKey, { cost: 1 });
    await evict(name);
    const after = await stub(name).snapshot();
    expect(after.buckets.find((b) => b.start === before!.start)).toEqual(before);
  }, 40_000);

  it("keeps the open bucket too once its flush has run, and a restored current bucket goes on counting", async () => {
    const { name, apiKey } = await makeEndpoint();
    await readyWorker(name, 3112);
    await startEarlyInBucket();
    for (let i = 0; i < 5; i++) await routeOk(name, apiKey, { cost: 2 });
    const open = (await stub(name).snapshot()).buckets.at(-1)!;
    expect(open).toMatchObject({ arrived: 10, requests: 5 });
    // Nothing closes it; the alarm stores it about a second after the first change (up to 10 s allowed for a loaded machine).
    const stored = async () =>
      runInDurableObject(stub(name), (_i, state) =>
        state.storage.sql.exec<{ bucket: string }>(`SELECT bucket FROM load_buckets WHERE start = ?`, open.start).toArray(),
      );
    for (let i = 0; i < 100 && (await stored()).every((r) => JSON.parse(r.bucket).requests !== 5); i++) await sleep(100);
    await evict(name);
    const after = await stub(name).snapshot();
    expect(after.buckets.find((b) => b.start === open.start)).toMatchObject({ arrived: 10, requests: 5 });
    // One more call: into the restored bucket while it is current, else into a new one.
    await routeOk(name, apiKey, { cost: 1 });
    const later = (await stub(name).snapshot()).buckets;
    if (later.at(-1)!.start === open.start) {
      expect(later.at(-1)).toMatchObject({ arrived: 11, requests: 6 });
    } else {
      expect(later.find((b) => b.start === open.start)).toMatchObject({ arrived: 10, requests: 5 });
      expect(later.at(-1)).toMatchObject({ arrived: 1, requests: 1 });
    }
  }, 40_000);
});
