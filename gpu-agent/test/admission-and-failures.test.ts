// Overload (429 + Retry-After), a failing, hanging or absent model server (502/503/504), and the
// invariant behind them all: whatever happened, the in-flight load returns to 0.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startStack, type Stack } from "./harness.ts";

let s: Stack;
beforeAll(async () => {
  // A queue time so short that one request in flight makes any second one wait too long.
  s = await startStack({ env: { MAX_QUEUE_TIME: "0.000001", BACKEND_TIMEOUT_S: "1", MAX_BODY_BYTES: "4096" } });
});
afterAll(async () => {
  await s.close();
});

describe("admission", () => {
  it("refuses with 429 and Retry-After when the work ahead exceeds max_queue_time, and the model never sees it", async () => {
    const holder = new AbortController();
    const held = s.call("/v1/completions", { prompt: "a", max_tokens: 2, sim: { hang: true } }, { cost: 10 }, { signal: holder.signal });
    await eventually(async () => (await s.health()).in_flight_load === 10);
    const before = s.simStats().received;
    const res = await s.call("/v1/completions", { prompt: "b", max_tokens: 2 }, { cost: 10 });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await res.json()) as { code: string }).code).toBe("busy");
    expect(s.simStats().received).toBe(before);
    // The refused request's workload is reported as rejected, not received.
    const report = await s.router.waitForReport((r) => r.status.rej_load >= 10);
    expect(report.status.cur_load).toBe(10);
    holder.abort();
    await held.catch(() => undefined);
    await eventually(async () => (await s.health()).in_flight_load === 0);
  });

  it("always admits when idle, even a request costlier than max_queue_time × max_perf", async () => {
    const res = await s.call("/v1/completions", { prompt: "big", max_tokens: 2 }, { cost: 1e9 });
    expect(res.status).toBe(200);
  });

  it("413 for a body over MAX_BODY_BYTES, before any token work", async () => {
    const before = s.simStats().received;
    const res = await s.call("/v1/completions", { prompt: "x".repeat(8000), max_tokens: 1 });
    expect(res.status).toBe(413);
    expect(s.simStats().received).toBe(before);
  });
});

describe("model server failures", () => {
  it("502 for a model-side 500, without echoing the model's error text", async () => {
    const res = await s.call("/v1/completions", { prompt: "x", max_tokens: 1, sim: { fail: 500 } });
    expect(res.status).toBe(502);
    const body = await res.text();
    expect(JSON.parse(body)).toMatchObject({ code: "backend_error" });
    expect(body).not.toContain("simulated failure");
  });

  it("503 with Retry-After when the model server says it is unavailable", async () => {
    const res = await s.call("/v1/completions", { prompt: "x", max_tokens: 1, sim: { fail: 503 } });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBeTruthy();
  });

  it("504 when the model server does not answer in time", async () => {
    const res = await s.call("/v1/completions", { prompt: "x", max_tokens: 1, sim: { hang: true } });
    expect(res.status).toBe(504);
    expect(((await res.json()) as { message: string }).message).toMatch(/did not answer in time/);
    await eventually(() => s.simStats().hung === 0);
  });

  it("load is back to 0 after a mix of successes, failures, refusals and disconnects", async () => {
    const leaving = new AbortController();
    const calls = [
      s.call("/v1/completions", { prompt: "ok", max_tokens: 2 }),
      s.call("/v1/completions", { prompt: "fail", max_tokens: 2, sim: { fail: 500 } }),
      s.call("/v1/completions", { prompt: "bad", max_tokens: 0 }),
      s.call("/v1/completions", { prompt: "gone", max_tokens: 2, sim: { hang: true } }, {}, { signal: leaving.signal }),
      s.call("/v1/completions", { prompt: "stream", max_tokens: 3, stream: true }).then((r) => r.text()),
    ];
    setTimeout(() => leaving.abort(), 50);
    await Promise.allSettled(calls);
    const h = await eventually(async () => {
      const x = await s.health();
      return x.in_flight_requests === 0 && x;
    });
    expect(h.in_flight_load).toBe(0);
  });

  it("a model server that dies mid-stream cuts the client's answer; then 502 naming the refusal", async () => {
    const res = await s.call("/v1/completions", { prompt: "x", max_tokens: 9, stream: true, sim: { stall_after: 2 } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await reader.read();
    const errorsBefore = Number((await (await fetch(`${s.agent.localUrl}/metrics`)).text()).match(/outcome="backend_error"\} (\d+)/)?.[1]);
    await s.sim.close();
    // The client must see a broken answer, not a clean end that looks complete.
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return;
      })(),
    ).rejects.toThrow();
    await eventually(async () => (await s.health()).in_flight_load === 0);
    const metrics = await (await fetch(`${s.agent.localUrl}/metrics`)).text();
    expect(Number(metrics.match(/outcome="backend_error"\} (\d+)/)?.[1])).toBe(errorsBefore + 1);

    const down = await s.call("/v1/completions", { prompt: "x", max_tokens: 1 });
    expect(down.status).toBe(502);
    expect(((await down.json()) as { message: string }).message).toMatch(/refused the connection/);
    expect((await s.health()).in_flight_load).toBe(0);
  });
});
