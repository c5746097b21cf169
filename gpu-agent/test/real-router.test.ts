// The whole client flow against the real router Worker (workerd, local D1, the router's own token
// and report code): a Vast-style client asks /route/, gets our agent's URL and a token, calls the
// agent, and gets the model's answer; the router accepted the agent's reports to route there.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RouteReady } from "../../core/wire.ts";
import { generateDevSecrets } from "../../scripts/dev-secrets.ts";
import { applyLocalMigrations, startWorkers, type LocalWorkers } from "../../scripts/local-workers.ts";
import type { SimServer } from "../../sim/model-server/server.ts";
import { completionText } from "../../sim/model-server/text.ts";
import { startAgent, type RunningAgent } from "../src/agent.ts";
import { loadConfig } from "../src/config.ts";
import { FAST_ENV, startSim } from "./harness.ts";

const ENDPOINT = "e2e";
let stateDir: string;
let router: LocalWorkers;
let sim: SimServer;
let agent: RunningAgent;
let apiKey: string;
const admin = { token: "" };

async function api(path: string, body?: unknown): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { authorization: `Bearer ${admin.token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(new URL(path, router.url), { method: "POST", headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "agent-e2e-router-"));
  const secrets = await generateDevSecrets();
  admin.token = secrets.ADMIN_TOKEN;
  await applyLocalMigrations(stateDir);
  router = await startWorkers([{ config: "wrangler.toml", vars: { ...secrets, ROUTE_HOLD_MS: "200" } }], { stateDir });
  await api("/api/v1/endpoints", { name: ENDPOINT });
  apiKey = String((await api(`/api/v1/endpoints/${ENDPOINT}/keys`)).api_key);
  const worker = (await api(`/api/v1/endpoints/${ENDPOINT}/workers`)) as { id: string; mtoken: string };
  sim = await startSim();
  agent = await startAgent(
    loadConfig({
      WORKER_ID: worker.id,
      MASTER_TOKEN: worker.mtoken,
      ENDPOINT,
      PUBLIC_IPADDR: "127.0.0.1",
      WORKER_PORT: "0",
      LISTEN_HOST: "127.0.0.1",
      REPORT_ADDR: router.url.origin,
      BACKEND_URL: sim.url,
      AGENT_CACHE_DIR: join(stateDir, "agent-cache"),
      ...FAST_ENV,
    }),
  );
  await agent.ready;
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await sim?.close();
  await router?.dispose();
  rmSync(stateDir, { recursive: true, force: true });
});

/** POST /route/ as Vast's SDK does, until the router has seen the agent's ready report. */
async function route(cost: number): Promise<RouteReady> {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(new URL("/route/", router.url), {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ endpoint: ENDPOINT, api_key: apiKey, cost }),
    });
    const answer = (await res.json()) as Record<string, unknown>;
    if (answer.url) return RouteReady.parse(answer);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the router never routed to the agent");
}

describe("agent behind the real router", () => {
  it("a Vast-style client gets routed to the agent, and the agent serves the router's token", async () => {
    const auth_data = await route(6);
    expect(auth_data.url).toBe(agent.url);
    const res = await fetch(`${auth_data.url}/v1/completions?api_key=${apiKey}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ auth_data, payload: { prompt: "end to end", max_tokens: 6 } }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: { text: string }[] }).choices[0]!.text).toBe(completionText("end to end", 6));
    // The same route answer cannot be used twice.
    const again = await fetch(`${auth_data.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ auth_data, payload: { prompt: "end to end", max_tokens: 6 } }),
    });
    expect(again.status).toBe(401);
  }, 30_000);
});
