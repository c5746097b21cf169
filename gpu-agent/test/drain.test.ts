// SIGTERM on the real process (`node --import tsx gpu-agent/src/index.ts`, as the stand-in Vast
// launches it): report draining at once, finish what is in flight, exit 0; past the deadline,
// cancel what is left and still exit 0.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { SimServer } from "../../sim/model-server/server.ts";
import { completionText } from "../../sim/model-server/text.ts";
import { ENDPOINT, FAST_ENV, MTOKEN, WORKER_ID, eventually, startSim } from "./harness.ts";
import { startRouterStandIn, type StandInRouter } from "./router-stand-in.ts";

const ROOT = resolve(import.meta.dirname, "../..");
/** Spawning `node --import tsx` takes a second or two on a busy machine; these tests wait for two. */
const CHILD_TEST_TIMEOUT_MS = 30_000;

interface Spawned {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  output: () => string;
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function spawnAgent(router: StandInRouter, sim: SimServer, env: Record<string, string> = {}): Promise<Spawned> {
  const cacheDir = mkdtempSync(join(tmpdir(), "agent-drain-"));
  cleanup.push(() => rmSync(cacheDir, { recursive: true, force: true }));
  const child = spawn(process.execPath, ["--import", "tsx", "gpu-agent/src/index.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      WORKER_ID,
      MASTER_TOKEN: MTOKEN,
      ENDPOINT,
      PUBLIC_IPADDR: "127.0.0.1",
      WORKER_PORT: "0",
      LISTEN_HOST: "127.0.0.1",
      REPORT_ADDR: router.url,
      BACKEND_URL: sim.url,
      BACKEND: "openai",
      AGENT_CACHE_DIR: cacheDir,
      ...FAST_ENV,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  cleanup.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const port = await eventually(() => out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/)?.[1], 15_000);
  return { child, url: `http://127.0.0.1:${port}`, exited, output: () => out };
}

async function setup(simOver: Parameters<typeof startSim>[0], env?: Record<string, string>) {
  const sim = await startSim(simOver);
  const router = await startRouterStandIn({ workerId: WORKER_ID, mtoken: MTOKEN, endpoint: ENDPOINT });
  cleanup.push(() => sim.close(), () => router.close());
  const agent = await spawnAgent(router, sim, env);
  await router.waitForReport((r) => r.status.state === "ready", 15_000);
  return { sim, router, agent };
}

describe("SIGTERM", () => {
  it("reports draining at once, finishes the request in flight, refuses new work, exits 0", async () => {
    const { sim, router, agent } = await setup({ tokenMs: 40 });
    const auth = await router.authData({ url: agent.url, cost: 25 });
    const answer = fetch(`${agent.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ auth_data: auth, payload: { prompt: "drain me", max_tokens: 25 } }),
    });
    await eventually(() => sim.stats().active === 1);
    agent.child.kill("SIGTERM");

    const draining = await router.waitForReport((r) => r.status.state === "draining");
    expect(draining.status.working_request_idxs).toEqual([auth.request_idx]);
    expect(draining.status.cur_load).toBe(25);
    const late = await fetch(`${agent.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ auth_data: await router.authData({ url: agent.url }), payload: { prompt: "late", max_tokens: 1 } }),
    }).catch(() => null);
    expect(late === null || late.status === 503).toBe(true);

    const res = await answer;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: { text: string }[] }).choices[0]!.text).toBe(completionText("drain me", 25));
    expect(await agent.exited).toBe(0);
    expect(router.reports.at(-1)!.status).toMatchObject({ state: "draining", cur_load: 0 });
    const duringDrain = router.reports.filter((r) => r.status.state === "draining");
    expect(duringDrain.reduce((sum, r) => sum + r.status.cur_perf, 0)).toBe(25);
    expect(router.deletes.flatMap((d) => d.request_idxs)).toContain(auth.request_idx);
  }, CHILD_TEST_TIMEOUT_MS);

  it("past DRAIN_TIMEOUT_S, cancels what is left (the model server sees the cancel) and exits 0", async () => {
    const { sim, router, agent } = await setup({}, { DRAIN_TIMEOUT_S: "0.3" });
    const auth = await router.authData({ url: agent.url, cost: 9 });
    const res = await fetch(`${agent.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ auth_data: auth, payload: { prompt: "forever", max_tokens: 9, stream: true, sim: { stall_after: 1 } } }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    agent.child.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return;
      })(),
    ).rejects.toThrow();
    await eventually(() => sim.stats().cancelled === 1);
    expect(router.reports.at(-1)!.status).toMatchObject({ state: "draining", cur_load: 0 });
    expect(agent.output()).toMatch(/drain deadline/);
  }, CHILD_TEST_TIMEOUT_MS);
});
