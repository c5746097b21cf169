// The worker-group template's boot script, run for real: templates/vllm/onstart.sh starts the model
// server (the simulated one standing in for vLLM, logging its vLLM-like start-up line) and the bundled
// gpu-agent (dist/gpu-agent.mjs under plain node), with the env the scaler and Vast inject. The agent
// registers with a real router, serves a routed request, and SIGTERM stops both processes.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VastClient } from "../../demo/vast-client.ts";
import { buildAgent } from "../../scripts/build-agent.ts";
import { generateDevSecrets } from "../../scripts/dev-secrets.ts";
import { adminClient } from "../../scripts/demo-endpoint.ts";
import { applyLocalMigrations, startWorkers, type LocalWorkers } from "../../scripts/local-workers.ts";
import { freePort } from "../../sim/vast/processes.ts";
import { waitFor } from "./stack.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "template-"));
let router: LocalWorkers;
let agentJs = "";
const secrets = await generateDevSecrets();

beforeAll(async () => {
  agentJs = await buildAgent(join(dir, "gpu-agent.mjs"));
  await applyLocalMigrations(join(dir, "state"));
  router = await startWorkers([{ config: "wrangler.toml", vars: { ...secrets } }], { stateDir: join(dir, "state") });
}, 120_000);

afterAll(async () => {
  await router?.dispose();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("templates/vllm/onstart.sh", () => {
  it("boots the model server and the bundled agent, which registers, serves, and stops on SIGTERM", async () => {
    const admin = adminClient(router.url.origin, secrets.ADMIN_TOKEN);
    const call = async (method: string, path: string, body?: unknown) => (await admin.call(method, path, body)).json() as Promise<Record<string, string>>;
    await call("POST", "/endpoints", { name: "tpl" });
    await call("POST", "/endpoints/tpl/workergroups", { name: "vllm", image: "registry.example/gpu-agent-vllm:1" });
    const { api_key } = await call("POST", "/endpoints/tpl/keys");
    const { id, mtoken } = await call("POST", "/endpoints/tpl/workers", { group: "vllm" });

    const [agentPort, modelPort] = await Promise.all([freePort(), freePort()]);
    const boot = spawn("sh", [resolve(ROOT, "templates/vllm/onstart.sh")], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        // What the scaler injects…
        WORKER_ID: id,
        MASTER_TOKEN: mtoken,
        REPORT_ADDR: router.url.origin,
        ENDPOINT: "tpl",
        WORKER_PORT: String(agentPort),
        // …what Vast adds…
        CONTAINER_ID: "4242",
        PUBLIC_IPADDR: "127.0.0.1",
        [`VAST_TCP_PORT_${agentPort}`]: String(agentPort),
        // …and the group's env: here the simulated model server stands in for vLLM.
        MODEL_PORT: String(modelPort),
        MODEL_LOG: join(dir, "model.log"),
        MODEL_CMD: `${process.execPath} --import tsx ${resolve(ROOT, "sim/model-server/index.ts")} --port ${modelPort} --load-time 0.5`,
        AGENT_JS: agentJs,
        NODE: process.execPath,
        AGENT_CACHE_DIR: join(dir, "cache"),
        LISTEN_HOST: "127.0.0.1",
        BENCH_ROUNDS: "1",
        BENCH_SECONDS: "0.5",
        BENCH_CONCURRENCY: "2",
        BENCH_MAX_TOKENS: "4",
        REPORT_INTERVAL_S: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    boot.stdout!.on("data", (b: Buffer) => (output += b.toString()));
    boot.stderr!.on("data", (b: Buffer) => (output += b.toString()));
    const exited = new Promise<number | null>((r) => boot.once("exit", (code) => r(code)));
    try {
      await waitFor(
        "the agent to report ready",
        async () => {
          const { workers } = (await (await admin.call("GET", "/endpoints/tpl/workers")).json()) as { workers: { id: string; phase: string }[] };
          return workers.some((w) => w.id === id && w.phase === "ready") ? true : undefined;
        },
        60_000,
      );
      const prompt = "from a template";
      const result = await new VastClient({ router: router.url.origin, endpoint: "tpl", apiKey: api_key!, timeoutS: 30 }).call(
        "/v1/completions",
        { model: "sim-model", prompt, max_tokens: 5 },
        { cost: 5 },
      );
      expect(result.status).toBe(200);
      expect(result.url).toBe(`http://127.0.0.1:${agentPort}`);
    } finally {
      boot.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    // Both children are gone: their ports no longer answer.
    for (const port of [agentPort, modelPort]) {
      await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    }
    expect(output).not.toContain(mtoken);
  }, 120_000);
});
