// No secret leaves the platform by a side door. A whole local stack runs a realistic session (a cold
// start through scale-now, calls, reports, near-miss credentials on every surface, a Vast outage the
// scaler logs, an endpoint deleted and its instance destroyed) while every log line is kept: the
// Workers' console (router and scaler in workerd), each agent's and model server's output, and this
// process's console (the stand-in Vast). Then every API key, mtoken, the admin token, the token and
// Vast signing keys' private parts, the Vast API key and the issued tokens are looked for in all of it,
// in every error answer and in every admin answer (except the one answer that hands a new secret out).
// The router Worker's bindings are read too: none holds the Vast API key.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { VastClient } from "../../demo/vast-client.ts";
import { DEMO_GROUP } from "../../scripts/demo-endpoint.ts";
import { account, admin, endpoint, testStack, waitFor, type TestStack } from "./stack.ts";

/** A text some part of the platform produced, and where it came from (for the report). */
interface Seen {
  source: string;
  text: string;
  /** The secret this answer exists to hand out (a /route/ answer carries its token). */
  issues?: string;
}

const workerdOutput: string[] = [];
const ownConsole: string[] = [];
/** Answers to requests: error bodies and admin reads. */
const answers: Seen[] = [];
const secrets = new Map<string, string>();
const logDir = mkdtempSync(join(tmpdir(), "secrets-in-logs-"));
let stack: TestStack;

const Jwk = z.object({ d: z.string().min(16) }).passthrough();
const TokenKeys = z.object({ keys: z.array(Jwk).min(1) });
const RsaPrivate = z.object({ d: z.string(), p: z.string(), q: z.string(), dp: z.string(), dq: z.string(), qi: z.string() });
const RouteReady = z.object({ url: z.string(), token: z.string(), reqnum: z.number() }).passthrough();
const Created = z.object({ api_key: z.string().optional(), mtoken: z.string().optional(), id: z.string().optional() }).passthrough();

function keep(name: string, value: string | undefined): void {
  if (value) secrets.set(name, value);
}

/** Sends a request and keeps its answer's text (with where it went) for the scan. */
async function request(what: string, url: string, init: RequestInit = {}, issues?: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, init);
  const text = await res.text();
  answers.push({ source: `${what}: ${init.method ?? "GET"} ${new URL(url).pathname} → ${res.status}`, text, ...(issues ? { issues } : {}) });
  return { status: res.status, text };
}

const postJson = (what: string, url: string, body: unknown, headers: Record<string, string> = {}, issues?: string) =>
  request(what, url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) }, issues);

/** An admin call whose answer is scanned (reads, refusals). */
async function adminRead(path: string, init: RequestInit = {}, token = stack.secrets.ADMIN_TOKEN) {
  return request("admin", `${stack.url.origin}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) } });
}

/**
 * Windows of a secret that must not appear anywhere: the whole value, and every 16 characters of its
 * random part (a log line that kept "the first 20 characters" would still give most of a key away).
 */
function needles(value: string): string[] {
  const random = value.replace(/^[a-z]+_/, "");
  const out = new Set([value]);
  for (let i = 0; i + 16 <= random.length; i++) out.add(random.slice(i, i + 16));
  return [...out];
}

beforeAll(async () => {
  const capture = (stdout: Readable, stderr: Readable) => {
    stdout.on("data", (c: Buffer) => workerdOutput.push(c.toString("utf8")));
    stderr.on("data", (c: Buffer) => workerdOutput.push(c.toString("utf8")));
  };
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void ownConsole.push(args.map(String).join(" ")));
  }
  stack = await testStack({ stdio: capture, sim: { logDir } });
  keep("admin token", stack.secrets.ADMIN_TOKEN);
  keep("Vast API key", stack.vastKey);
  TokenKeys.parse(JSON.parse(stack.secrets.TOKEN_KEYS)).keys.forEach((k, i) => keep(`token signing key #${i} (d)`, k.d));
  for (const [part, value] of Object.entries(RsaPrivate.parse(JSON.parse(stack.secrets.VAST_SIGNING_KEY)))) keep(`Vast signing key (${part})`, value);
}, 120_000);

afterAll(async () => {
  vi.restoreAllMocks();
  await stack?.close();
  rmSync(logDir, { recursive: true, force: true });
}, 60_000);

describe("secrets in logs, error messages and admin answers", () => {
  it("the router Worker holds no Vast API key; the scaler does", async () => {
    const router = await stack.workers.bindings("gpu-router");
    const scaler = await stack.workers.bindings("gpu-scaler");
    expect(Object.keys(router).filter((k) => /VAST_API/.test(k))).toEqual([]);
    expect(Object.values(router).some((v) => typeof v === "string" && v.includes(stack.vastKey))).toBe(false);
    expect(scaler.VAST_API_KEY).toBe(stack.vastKey);
  });

  it("a whole session leaves no secret in any log line, error message or admin answer", async () => {
    const origin = stack.url.origin;
    // An endpoint served from zero by a real instance, and a second one with a hand-attached worker.
    const { name, apiKey } = await endpoint(stack, { cold_workers: 0, max_workers: 1 });
    keep("API key", apiKey);
    const spare = Created.parse(await admin(stack, "POST", `/endpoints/${name}/keys`));
    keep("second API key (revoked below)", spare.api_key);
    const manual = `${name}-manual`;
    await admin(stack, "POST", "/endpoints", { name: manual });
    const attached = Created.parse(await admin(stack, "POST", `/endpoints/${manual}/workers`));
    keep("hand-attached worker's mtoken", attached.mtoken);
    const otherKey = Created.parse(await admin(stack, "POST", `/endpoints/${manual}/keys`)).api_key;
    keep("other endpoint's API key", otherKey);

    const client = new VastClient({ router: origin, endpoint: name, apiKey, maxPollInterval: 1, timeoutS: 90 });
    const first = await client.call("/v1/completions", { model: "sim-model", prompt: "a cold start", max_tokens: 4 }, { cost: 4 });
    expect(first.status).toBe(200);

    // The instance's mtoken, as the scaler handed it to Vast in the create request.
    const mtokens = [...stack.sim.account.instances.values()].map((i) => i.request?.env?.MASTER_TOKEN);
    expect(mtokens.length).toBeGreaterThan(0);
    mtokens.forEach((m, i) => keep(`instance mtoken #${i}`, m));

    // A genuine grant, then near misses of every credential on every surface: a component that
    // echoed what it refused would print most of a real secret.
    const grant = RouteReady.parse(JSON.parse((await postJson("route", `${origin}/route/`, { endpoint: name, api_key: apiKey, cost: 1 }, {}, "issued token")).text));
    keep("issued token", grant.token);
    const payload = { model: "sim-model", prompt: "hello", max_tokens: 2 };
    expect((await postJson("agent", `${grant.url}/v1/completions`, { auth_data: grant, payload })).status).toBe(200);
    const refusals = [
      postJson("route", `${origin}/route/`, { endpoint: name, api_key: `${apiKey}x` }),
      postJson("route", `${origin}/route/`, { endpoint: name, api_key: otherKey }),
      postJson("route", `${origin}/route/`, { endpoint: name }, { authorization: `Bearer ${apiKey.slice(0, -1)}` }),
      postJson("route", `${origin}/route/?api_key=${encodeURIComponent(`${apiKey}x`)}`, { endpoint: name }),
      postJson("route", `${origin}/route/`, { endpoint: name, api_key: apiKey, cost: "lots" }),
      postJson("route", `${origin}/route/`, { endpoint: `no-${name}`, api_key: apiKey }),
      postJson("workers", `${origin}/get_endpoint_workers/`, { endpoint: name, api_key: `${stack.secrets.ADMIN_TOKEN}x` }),
      postJson("report", `${origin}/worker_status/`, { id: attached.id, mtoken: `${attached.mtoken}x`, cur_load: 1 }),
      postJson("report", `${origin}/worker_status/`, { id: attached.id, mtoken: attached.mtoken, cur_load: "lots" }),
      postJson("report", `${origin}/worker_status/`, { id: attached.id, mtoken: mtokens[0], cur_load: 1 }),
      postJson("report", `${origin}/delete_requests/`, { id: attached.id, mtoken: `${attached.mtoken}x`, request_idxs: [1] }),
      postJson("agent", `${grant.url}/v1/completions`, { auth_data: { ...grant, token: `${grant.token}x` }, payload }),
      postJson("agent", `${grant.url}/v1/completions`, { auth_data: { ...grant, cost: 1e6 }, payload }),
      postJson("agent", `${grant.url}/v1/completions`, { auth_data: grant, payload }),
      adminRead("/endpoints", {}, `${stack.secrets.ADMIN_TOKEN}x`),
      adminRead("/endpoints", {}, stack.secrets.ADMIN_TOKEN.slice(0, -1)),
      request("admin", `${origin}/api/v1/endpoints`, { headers: { authorization: `Basic ${btoa(`admin:${stack.secrets.ADMIN_TOKEN}`)}` } }),
      adminRead(`/endpoints/${name}`, { method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify({ max_workers: -1, note: apiKey }) }),
    ];
    const statuses = (await Promise.all(refusals)).map((r) => r.status);
    // Every near miss was refused (the replayed grant too); none got in.
    expect(statuses.every((s) => s >= 400 && s < 500)).toBe(true);
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(12);

    // A key revoked, a Vast outage during a scaler pass (its failures are logged), then recovery.
    await adminRead(`/endpoints/${name}/keys/${spare.id}`, { method: "DELETE" });
    stack.sim.setFaults({ errorRate: 1 });
    await stack.scaled();
    stack.sim.setFaults({ errorRate: 0, rateLimitRate: 1 });
    await stack.scaled();
    stack.sim.setFaults({ rateLimitRate: 0 });
    await stack.scaled();

    // Every admin and public read, with the session's state in it.
    const group = DEMO_GROUP.name;
    for (const path of [
      "/overview",
      "/endpoints",
      `/endpoints/${name}`,
      `/endpoints/${name}/workergroups`,
      `/endpoints/${name}/workergroups/${group}/metrics`,
      `/endpoints/${name}/workers`,
      `/endpoints/${name}/instances`,
      `/endpoints/${name}/metrics`,
      `/endpoints/${name}/events?limit=1000`,
      `/endpoints/${manual}/workers`,
    ]) {
      expect((await adminRead(path)).status).toBe(200);
    }
    for (const path of ["/pubkey/", "/.well-known/jwks.json", "/api/v1/openapi.json", "/health"]) await request("public", `${origin}${path}`);
    expect((await postJson("workers", `${origin}/get_endpoint_workers/`, { endpoint: name, api_key: apiKey })).status).toBe(200);

    // The endpoint goes: its instance is destroyed (the agent drains and exits, logging as it goes).
    await adminRead(`/endpoints/${name}`, { method: "DELETE" });
    await waitFor("the instance destroyed", async () => (await stack.scaled(), account(stack).length === 0), 60_000, 500);
    await stack.close();

    const logs: Seen[] = [
      { source: "workerd (router and scaler console)", text: workerdOutput.join("") },
      { source: "this process's console (stand-in Vast)", text: ownConsole.join("\n") },
      ...readdirSync(logDir)
        .filter((f) => f.endsWith(".log"))
        .map((f) => ({ source: `instance output ${f}`, text: readFileSync(join(logDir, f), "utf8") })),
    ];
    // The capture works: the Workers and the agents did log (a silent capture would prove nothing).
    expect(logs[0]!.text).toContain('"msg":"scale tick"');
    expect(logs[0]!.text).toContain('"msg":"vast call failed"');
    expect(logs.filter((l) => l.source.endsWith("-agent.log")).map((l) => l.text).join("")).toContain('"msg":"agent started"');
    expect(secrets.size).toBeGreaterThanOrEqual(14);

    const found: string[] = [];
    for (const seen of [...logs, ...answers]) {
      for (const [what, value] of secrets) {
        if (seen.issues === what) continue;
        const hit = needles(value).find((n) => seen.text.includes(n));
        if (hit) found.push(`${what} in ${seen.source} (${hit.length === value.length ? "whole" : `16 characters: ${hit.slice(0, 4)}…`})`);
      }
    }
    expect(found).toEqual([]);
  }, 240_000);
});
