// What the agent tells the router over real HTTP: Vast's field set with our `state`, loading then
// ready, deltas that add up and survive an outage. The cadence itself is checked with fake timers
// in reporter-cadence.test.ts (arrival times over HTTP would make this file timing-dependent).
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { eventually, startStack, type Stack } from "./harness.ts";

// Start-ups with retries and backoff (keys, model load) can take seconds on a busy machine.
vi.setConfig({ testTimeout: 20_000 });

let s: Stack | null = null;
const dirs: string[] = [];
afterEach(async () => {
  await s?.close();
  s = null;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("reports", () => {
  it("while loading: every interval, loadtime 0, state loading; then ready with Vast's fields", async () => {
    // Loading lasts until the test writes the load line into the log the agent watches.
    const dir = mkdtempSync(join(tmpdir(), "agent-reports-"));
    dirs.push(dir);
    const log = join(dir, "model.log");
    writeFileSync(log, "");
    s = await startStack({ env: { MODEL_LOG: log }, waitReady: false });
    const loading = await s.router.waitForReport(() => s!.router.reports.filter((x) => x.status.state === "loading").length >= 2);
    expect(loading.status).toMatchObject({ state: "loading", loadtime: 0, max_perf: 0, cur_load: 0, error_msg: "" });
    appendFileSync(log, "INFO:     Application startup complete.\n");
    await s.agent.ready;
    const ready = await s.router.waitForReport((r) => r.status.state === "ready");
    expect(ready.raw).toMatchObject({
      id: "w_test1",
      mtoken: "mtok_secret_for_tests",
      url: s.agent.url,
      cur_load: 0,
      error_msg: "",
      state: "ready",
      num_requests_working: 0,
      working_request_idxs: [],
    });
    expect(ready.raw.version).toMatch(/^gpu-agent\//);
    expect(ready.status.loadtime).toBeGreaterThan(0);
    expect(ready.status.max_perf).toBeGreaterThan(0);
    for (const key of ["new_load", "rej_load", "cur_perf", "num_requests_recieved", "additional_disk_usage"]) expect(ready.raw).toHaveProperty(key);
  });

  it("once ready: reports served work as deltas and finished request_idxs", async () => {
    s = await startStack();
    const t0 = performance.now();
    const auths = await Promise.all(Array.from({ length: 8 }, (_, i) => s!.router.authData({ url: s!.agent.url, cost: 10 + i })));
    const answers = await Promise.all(auths.map((auth_data) => s!.post("/v1/completions", { auth_data, payload: { prompt: "p", max_tokens: 2 } })));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    const costs = auths.reduce((sum, a) => sum + a.cost, 0);
    const since = performance.now() - t0;
    // Deltas since the previous report add up to exactly what was served.
    await eventually(() => {
      const after = s!.router.reports.filter((r) => r.at >= since - 1000);
      return after.reduce((sum, r) => sum + r.status.cur_perf, 0) === costs;
    });
    const after = s.router.reports.filter((r) => r.status.state === "ready");
    expect(after.reduce((sum, r) => sum + r.status.cur_perf, 0)).toBe(costs);
    expect(after.reduce((sum, r) => sum + r.status.new_load, 0)).toBe(costs);
    expect(after.reduce((sum, r) => sum + (r.status.num_requests_recieved ?? 0), 0)).toBe(8);
    await eventually(() => s!.router.deletes.flatMap((d) => d.request_idxs).length >= 8);
    expect(new Set(s.router.deletes.flatMap((d) => d.request_idxs))).toEqual(new Set(auths.map((a) => a.request_idx)));
  });

  it("reports in-flight work with its request_idx while it runs", async () => {
    s = await startStack();
    const leave = new AbortController();
    const auth = await s.router.authData({ url: s.agent.url, cost: 33 });
    const pending = s.post("/v1/completions", { auth_data: auth, payload: { prompt: "p", max_tokens: 2, sim: { hang: true } } }, { signal: leave.signal });
    const r = await s.router.waitForReport((x) => x.status.cur_load === 33);
    expect(r.status.working_request_idxs).toEqual([auth.request_idx]);
    expect(r.status.num_requests_working).toBe(1);
    leave.abort();
    await pending.catch(() => undefined);
    // A cancelled request takes its load back out of new_load.
    const back = await s.router.waitForReport((x) => x.at > r.at && x.status.cur_load === 0);
    expect(back.status.new_load).toBe(-33);
  });

  it("keeps serving while the router is unreachable, and the deltas arrive once it is back", async () => {
    s = await startStack();
    await s.router.waitForReport((r) => r.status.state === "ready");
    s.router.mode = "failing";
    const failedBefore = s.router.reports.length;
    const res = await Promise.all([1, 2, 3].map(() => s!.call("/v1/completions", { prompt: "p", max_tokens: 2 }, { cost: 5 })));
    expect(res.map((r) => r.status)).toEqual([200, 200, 200]);
    const metrics = await eventually(async () => {
      const text = await (await fetch(`${s!.agent.localUrl}/metrics`)).text();
      return Number(text.match(/gpu_agent_reports_failed_total (\d+)/)?.[1]) > 0 && text;
    });
    expect(metrics).toBeTruthy();
    expect(s.router.reports.length).toBe(failedBefore);
    s.router.mode = "up";
    const r = await s.router.waitForReport((x) => x.at > 0 && s!.router.reports.indexOf(x) >= failedBefore && x.status.cur_perf > 0, 15_000);
    expect(r.status.cur_perf).toBe(15);
  });

  it("sends a Vast instance id (all digits) as a JSON number", async () => {
    s = await startStack({ env: { WORKER_ID: "", CONTAINER_ID: "4242" } });
    const r = await s.router.waitForReport((x) => x.status.state === "ready");
    expect(r.raw.id).toBe(4242);
  });
});
