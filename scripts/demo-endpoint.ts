// The local stack's demo endpoint: created if absent (scale from zero, back to zero after a short
// idle time, one worker group on the stand-in's RTX 4090s), with an API key that survives restarts.
import { existsSync, readFileSync } from "node:fs";
import { stackInfoPath } from "../demo/stack-info.ts";

export const DEMO_ENDPOINT = "demo";

export interface AdminClient {
  call(method: string, path: string, body?: unknown): Promise<Response>;
}

export function adminClient(router: string, token: string): AdminClient {
  return {
    call(method, path, body) {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (body !== undefined) headers["content-type"] = "application/json";
      return fetch(new URL(`/api/v1${path}`, router), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    },
  };
}

async function ok(res: Promise<Response>, what: string): Promise<Record<string, unknown>> {
  const r = await res;
  if (!r.ok) throw new Error(`${what}: ${r.status} ${await r.text()}`);
  return (await r.json()) as Record<string, unknown>;
}

/** Settings of the demo's worker group: short benchmarks and a model that loads in seconds. */
export const DEMO_GROUP = {
  name: "rtx4090",
  image: "vllm/vllm-openai:latest",
  gpu_ram: 24,
  search_params: { gpu_name: { eq: "RTX 4090" } },
  env: {
    BACKEND: "openai",
    BENCH_ROUNDS: "1",
    BENCH_SECONDS: "1",
    BENCH_CONCURRENCY: "8",
    BENCH_MAX_TOKENS: "16",
    REPORT_INTERVAL_S: "2",
    SIM_LOAD_TIME_S: "1",
    SIM_TOKEN_MS: "10",
  },
};

export async function ensureDemoEndpoint(admin: AdminClient, stateDir: string, router: string): Promise<{ endpoint: string; apiKey: string }> {
  const existing = await admin.call("GET", `/endpoints/${DEMO_ENDPOINT}`);
  if (existing.status === 404) {
    await ok(
      admin.call("POST", "/endpoints", { name: DEMO_ENDPOINT, min_load: 0, inactivity_timeout: 300, cold_workers: 1, max_workers: 4 }),
      "create the demo endpoint",
    );
    await ok(admin.call("POST", `/endpoints/${DEMO_ENDPOINT}/workergroups`, DEMO_GROUP), "create the demo worker group");
  } else if (!existing.ok) {
    throw new Error(`read the demo endpoint: ${existing.status} ${await existing.text()}`);
  }
  // Reuse the key from the last start if it still works (keys are stored hashed: it cannot be read back).
  const path = stackInfoPath(stateDir);
  const previous = existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as { api_key?: string }).api_key : undefined;
  if (previous) {
    const probe = await fetch(new URL("/get_endpoint_workers/", router), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ endpoint: DEMO_ENDPOINT, api_key: previous }),
    });
    if (probe.ok) return { endpoint: DEMO_ENDPOINT, apiKey: previous };
  }
  const key = await ok(admin.call("POST", `/endpoints/${DEMO_ENDPOINT}/keys`), "create an API key");
  return { endpoint: DEMO_ENDPOINT, apiKey: String(key.api_key) };
}
