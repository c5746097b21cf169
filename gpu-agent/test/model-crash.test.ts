// The model server crashes mid-stream (a real process, SIGKILLed while it streams), then comes back
// on the same port: the streamed client sees its answer broken (never a clean end that looks
// complete), the non-streamed one a 502 in the documented error shape; the agent's in-flight load
// returns to 0; it reports `error` to the router (three failed health probes, 5 s apart); and once
// the model answers again it reports `ready` and serves. Covers issue 7, "Model server crashes mid-stream".
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../sim/vast/processes.ts";
import { eventually, startStack, type Stack } from "./harness.ts";

const ROOT = resolve(import.meta.dirname, "../..");

let port: number;
let model: ChildProcess | null = null;
let s: Stack;

/** The simulated model server as its own process, as on an instance. */
async function startModel(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "sim/model-server/index.ts", "--port", String(port), "--load-time", "0", "--token-ms", "20"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: "ignore",
  });
  await eventually(async () => {
    const res = await fetch(`http://127.0.0.1:${port}/health`).catch(() => null);
    return res?.status === 200;
  }, 20_000);
  return child;
}

function crash(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    child.once("exit", () => r());
    child.kill("SIGKILL");
  });
}

beforeAll(async () => {
  port = await freePort();
  model = await startModel();
  s = await startStack({ env: { BACKEND_URL: `http://127.0.0.1:${port}` } });
}, 60_000);

afterAll(async () => {
  await s?.close();
  if (model && model.exitCode === null && model.signalCode === null) model.kill("SIGKILL");
});

describe("model server crash mid-stream", () => {
  it("breaks the answers in flight cleanly, reports error with no load left, and recovers when the model is back", async () => {
    await s.router.waitForReport((r) => r.status.state === "ready");
    // Two calls in flight: one streamed (200 started, then cut), one not (502 in our error shape).
    const streamed = await s.call("/v1/completions", { prompt: "a long answer", max_tokens: 400, stream: true }, { cost: 400 });
    expect(streamed.status).toBe(200);
    const reader = streamed.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    let received = new TextDecoder().decode(first.value);
    const whole = s.call("/v1/completions", { prompt: "another long answer", max_tokens: 400 }, { cost: 400 });
    await eventually(async () => (await s.health()).in_flight_load === 800);

    await crash(model!);

    // The streamed client: its read fails (the connection is cut), and nothing it got claims to be complete.
    const cut = await (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return "ended";
          received += new TextDecoder().decode(value);
        }
      } catch {
        return "broken";
      }
    })();
    expect(cut).toBe("broken");
    expect(received).not.toContain("[DONE]");
    expect(received).not.toMatch(/"finish_reason":"(stop|length)"/);
    const answer = await whole;
    expect(answer.status).toBe(502);
    // Our error shape, naming the cause, never the model server's own text.
    expect(await answer.json()).toEqual({ code: "backend_failed", message: "the connection to the model server failed" });
    const health = await eventually(async () => {
      const h = await s.health();
      return h.in_flight_requests === 0 && h;
    });
    expect(health.in_flight_load).toBe(0);

    // While the model is down: a clean 502 for each call, nothing left counted.
    const down = await s.call("/v1/completions", { prompt: "x", max_tokens: 1 });
    expect(down.status).toBe(502);
    expect(((await down.json()) as { message: string }).message).toMatch(/refused the connection/);

    // The agent reports the error (after three failed probes, 5 s apart), with zero load.
    const errored = await s.router.waitForReport((r) => r.status.state === "error", 30_000);
    expect(errored.status.error_msg).toMatch(/model server not answering \/health/);
    expect(errored.status.cur_load).toBe(0);
    expect(errored.status.working_request_idxs ?? []).toEqual([]);
    expect((await s.health()).state).toBe("error");
    // A worker in error refuses work rather than forwarding it.
    expect((await s.call("/v1/completions", { prompt: "x", max_tokens: 1 })).status).toBe(503);

    // The model server is back on the same port: the next probe clears the error and the agent serves again.
    model = await startModel();
    const back = await s.router.waitForReport((r) => r.at > errored.at && r.status.state === "ready", 20_000);
    expect(back.status.error_msg).toBe("");
    const ok = await s.call("/v1/completions", { prompt: "back", max_tokens: 4 });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { choices: unknown[] }).choices).toHaveLength(1);
    expect((await s.health()).in_flight_load).toBe(0);
  }, 90_000);
});
