// Start-up: the router's keys, the model server's log and health, the cached benchmark; and the
// Hono front end (HTTP_STACK=hono) serving the same path as the default one.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { generateTokenKey } from "../../core/token.ts";
import { completionText } from "../../sim/model-server/text.ts";
import { eventually, startStack, type Stack } from "./harness.ts";

// Start-ups with retries and backoff (keys, model load) can take seconds on a busy machine.
vi.setConfig({ testTimeout: 20_000 });

const stacks: Stack[] = [];
const dirs: string[] = [];
async function stack(...args: Parameters<typeof startStack>): Promise<Stack> {
  const s = await startStack(...args);
  stacks.push(s);
  return s;
}
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "agent-life-"));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((s) => s.close()));
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("start-up", () => {
  it("without token keys it never becomes ready and says why; once keys are published it does", async () => {
    const s = await stack({ beforeAgent: (router) => router.setKeys([]), waitReady: false });
    const r = await s.router.waitForReport((x) => x.status.state === "error");
    expect(r.status.error_msg).toMatch(/no token keys/);
    expect(r.status.max_perf).toBe(0);
    const refused = await fetch(`${s.agent.localUrl}/v1/completions`, { method: "POST", body: "{}" });
    expect(refused.status).toBe(503);
    await s.router.setKeys([await generateTokenKey("k1")]);
    await s.agent.ready;
    const ready = await s.router.waitForReport((x) => x.status.state === "ready");
    expect(ready.status.error_msg).toBe("");
    expect((await s.call("/v1/completions", { prompt: "k", max_tokens: 2 })).status).toBe(200);
  });

  it("an error line in MODEL_LOG is reported as error_msg and the worker never becomes ready", async () => {
    const log = join(tempDir(), "model.log");
    const s = await stack({ sim: { failLoad: true, logFile: log, loadTimeS: 0.1 }, env: { MODEL_LOG: log }, waitReady: false });
    const r = await s.router.waitForReport((x) => x.status.state === "error");
    expect(r.status.error_msg).toMatch(/RuntimeError: Engine/);
    expect((await s.health()).state).toBe("error");
    expect(s.simStats().received).toBe(0);
  });

  it("with MODEL_LOG it stays loading until the load line appears", async () => {
    // The test owns the log: the model server is up, but the agent must wait for the line.
    const log = join(tempDir(), "model.log");
    writeFileSync(log, "INFO:     some earlier noise\n");
    const s = await stack({ env: { MODEL_LOG: log }, waitReady: false });
    await s.router.waitForReport((x) => x.status.state === "loading");
    expect((await s.health()).state).toBe("loading");
    appendFileSync(log, "INFO:     Application startup complete.\n");
    await s.agent.ready;
    const r = await s.router.waitForReport((x) => x.status.state === "ready");
    expect(r.status.loadtime).toBeGreaterThan(0);
  });

  it("an error line after the worker is ready (the model crashed) reports error and stops serving, until the load line again", async () => {
    const log = join(tempDir(), "model.log");
    writeFileSync(log, "INFO:     Application startup complete.\n");
    const s = await stack({ env: { MODEL_LOG: log } });
    await s.router.waitForReport((x) => x.status.state === "ready");
    appendFileSync(log, "Traceback (most recent call last):\n");
    const r = await s.router.waitForReport((x) => x.status.state === "error");
    expect(r.status.error_msg).toMatch(/Traceback/);
    expect((await s.call("/v1/completions", { prompt: "x", max_tokens: 1 })).status).toBe(503);
    // The model server is started again (a supervisor, or by hand): its load line clears the error.
    appendFileSync(log, "INFO:     Application startup complete.\n");
    await eventually(async () => (await s.health()).state === "ready");
    const errorAt = s.router.reports.findIndex((x) => x.status.state === "error");
    const back = await s.router.waitForReport((x) => x.status.state === "ready" && s.router.reports.indexOf(x) > errorAt);
    expect(back.status.error_msg).toBe("");
    expect((await s.call("/v1/completions", { prompt: "x", max_tokens: 1 })).status).toBe(200);
  });

  it("recognises the simulated model server's own load line", async () => {
    const log = join(tempDir(), "model.log");
    const s = await stack({ sim: { logFile: log, loadTimeS: 0.3 }, env: { MODEL_LOG: log }, waitReady: false });
    await s.agent.ready;
    expect(s.simStats().loaded).toBe(true);
  });

  it("a restarted box reuses its cached benchmark; a changed benchmark setting measures again", async () => {
    const cacheDir = tempDir();
    const first = await stack({ cacheDir });
    const benchRequests = first.simStats().received;
    expect(benchRequests).toBeGreaterThan(0);
    const maxPerf = (await first.health()).max_perf;
    await first.close();
    stacks.splice(stacks.indexOf(first), 1);

    const second = await stack({ cacheDir });
    expect(second.simStats().received).toBe(0);
    expect((await second.health()).max_perf).toBe(maxPerf);

    const third = await stack({ cacheDir, env: { BENCH_MAX_TOKENS: "3" } });
    expect(third.simStats().received).toBeGreaterThan(0);
  });
});

describe("the Hono front end (HTTP_STACK=hono)", () => {
  it("serves the same path: answers, 401s, streams, 429s", async () => {
    const s = await stack({ env: { HTTP_STACK: "hono", MAX_QUEUE_TIME: "0.000001" } });
    const ok = await s.call("/v1/completions", { prompt: "hono", max_tokens: 4 });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { choices: { text: string }[] }).choices[0]!.text).toBe(completionText("hono", 4));

    const before = s.simStats().received;
    const bad = await s.post("/v1/completions", { auth_data: { ...(await s.router.authData({ url: "http://127.0.0.1:1" })) }, payload: {} });
    expect(bad.status).toBe(401);
    expect(s.simStats().received).toBe(before);

    const leave = new AbortController();
    const streaming = await s.call("/v1/completions", { prompt: "h", max_tokens: 9, stream: true, sim: { stall_after: 2 } }, {}, { signal: leave.signal });
    const reader = streaming.body!.getReader();
    let text = "";
    while ((text.match(/\n\n/g) ?? []).length < 2) text += new TextDecoder().decode((await reader.read()).value);
    expect(s.simStats().hung).toBe(1);
    const busy = await s.call("/v1/completions", { prompt: "x", max_tokens: 1 });
    expect(busy.status).toBe(429);
    expect(busy.headers.get("retry-after")).toBeTruthy();
    leave.abort();
    await eventually(async () => (await s.health()).in_flight_load === 0);
    await eventually(() => s.simStats().hung === 0);
  });
});
