// The whole path with real parts: the router and the scaler in workerd (wrangler's dev server), the
// stand-in Vast launching a real gpu-agent and a simulated model server per instance. A client's
// first /route/ call makes the router ask the scaler for capacity; the scaler rents an instance with
// credentials it minted; the agent comes up, benchmarks, reports to the router, and serves the
// request. Deleting the endpoint then destroys the instance and kills its processes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDevSecrets } from "../../../scripts/dev-secrets.ts";
import { applyLocalMigrations, startWorkers, type LocalWorkers } from "../../../scripts/local-workers.ts";
import { VastSimOptions } from "../options.ts";
import { freePort } from "../processes.ts";
import { startVastSim, type VastSim } from "../server.ts";

const ADMIN = "real-stack-admin-token-0123456789";
let stateDir = "";
let sim: VastSim;
let workers: LocalWorkers;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "real-stack-"));
  await applyLocalMigrations(stateDir);
  sim = await startVastSim(VastSimOptions.parse({ rate: 0, faults: { scheduleMs: 50, loadMs: 200, startMs: 100, stopMs: 100 } }));
  const secrets = await generateDevSecrets(ADMIN);
  const port = await freePort();
  workers = await startWorkers(
    [
      { config: "wrangler.toml", vars: { ...secrets, ROUTE_HOLD_MS: "2000" } },
      { config: "scaler-worker/wrangler.toml", vars: { VAST_API_KEY: "sim-key", VAST_API_URL: sim.apiUrl, REPORT_ADDR: `http://127.0.0.1:${port}` } },
    ],
    { stateDir, port },
  );
}, 60_000);

afterAll(async () => {
  await workers?.dispose();
  await sim?.close();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

async function admin(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(new URL(`/api/v1${path}`, workers.url), {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("real stack", () => {
  it("rents an instance on the first request, whose real agent registers and serves it; deleting the endpoint kills it", async () => {
    const name = "real-stack";
    await admin("POST", "/endpoints", { name, cold_workers: 0, max_workers: 1 });
    await admin("POST", `/endpoints/${name}/workergroups`, {
      image: "vllm/vllm-openai",
      gpu_ram: 24,
      search_params: { gpu_name: { eq: "RTX 4090" } },
      env: { BACKEND: "openai", BENCH_ROUNDS: "1", BENCH_SECONDS: "0.3", BENCH_CONCURRENCY: "2", BENCH_MAX_TOKENS: "4", REPORT_INTERVAL_S: "1", SIM_LOAD_TIME_S: "0.2", SIM_TOKEN_MS: "2" },
    });
    const { api_key } = await admin("POST", `/endpoints/${name}/keys`);

    // A client polling /route/ as Vast's SDK does; the router holds each call up to 2 s.
    let answer: Record<string, unknown> = {};
    let idx: number | undefined;
    const deadline = Date.now() + 45_000;
    while (!answer.url && Date.now() < deadline) {
      const res = await fetch(new URL("/route/", workers.url), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ endpoint: name, api_key, cost: 16, ...(idx ? { request_idx: idx } : {}) }),
      });
      answer = (await res.json()) as Record<string, unknown>;
      idx = answer.request_idx as number;
    }
    expect(answer.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const [inst] = [...sim.account.instances.values()];
    expect(inst!.label).toMatch(/^egs:w_/);
    expect(answer.url).toBe(`http://127.0.0.1:${inst!.ports["3000"]}`);

    const res = await fetch(`${answer.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ auth_data: answer, payload: { model: "sim-model", prompt: "hello", max_tokens: 4 } }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: unknown[] }).choices).toHaveLength(1);

    const pids = sim.launcher!.pids(inst!.id);
    expect(pids.every(alive)).toBe(true);
    await admin("DELETE", `/endpoints/${name}`);
    await workers.scheduled("gpu-scaler");
    expect(sim.account.instances.size).toBe(0);
    for (let i = 0; i < 100 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 50));
    expect(pids.some(alive)).toBe(false);
  }, 90_000);
});
