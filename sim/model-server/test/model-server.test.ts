// The simulated model server: the shapes vLLM/TGI/Ollama clients expect, deterministic text, the
// batching model (pure), loading, fault injection, and the CLI contract the stand-in Vast relies on.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Aborted, Engine, stepMs, throughputAt } from "../engine.ts";
import { OptionsError, SimOptions, parseSimOptions } from "../options.ts";
import { startSimServer, type SimServer } from "../server.ts";
import { completionText } from "../text.ts";

const ROOT = resolve(import.meta.dirname, "../../..");
const dir = mkdtempSync(join(tmpdir(), "sim-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const servers: SimServer[] = [];
async function sim(over: Partial<SimOptions> = {}): Promise<SimServer> {
  const s = await startSimServer(SimOptions.parse({ port: 0, loadTimeS: 0, tokenMs: 1, ...over }));
  servers.push(s);
  return s;
}
const children: ReturnType<typeof spawn>[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});
const post = (s: SimServer, path: string, body: unknown) =>
  fetch(`${s.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
/** Resolves once the sim's load timer has fired (a 0 s load completes on the next timer turn). */
const loaded = (s: SimServer) =>
  new Promise<void>((r) => {
    const t = setInterval(() => s.stats().loaded && (clearInterval(t), r()), 5);
  });

describe("text", () => {
  it("is a function of the prompt: same prompt, same text; prompts differ, texts differ", () => {
    expect(completionText("a prompt", 12)).toBe(completionText("a prompt", 12));
    expect(completionText("a prompt", 12)).not.toBe(completionText("another prompt", 12));
    expect(completionText("a prompt", 12).startsWith(completionText("a prompt", 5))).toBe(true);
    expect(completionText("x", 7).trim().split(" ")).toHaveLength(7);
  });
});

describe("routes", () => {
  it("answers OpenAI completions and chat as vLLM does, with usage", async () => {
    const s = await sim();
    await loaded(s);
    const c = (await (await post(s, "/v1/completions", { model: "m", prompt: "two words", max_tokens: 4 })).json()) as any;
    expect(c).toMatchObject({ object: "text_completion", choices: [{ index: 0, text: completionText("two words", 4), finish_reason: "length" }], usage: { prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 } });
    const chat = (await (await post(s, "/v1/chat/completions", { messages: [{ role: "user", content: "hi" }], max_completion_tokens: 3 })).json()) as any;
    expect(chat.choices[0].message).toEqual({ role: "assistant", content: completionText("user: hi", 3) });
    const models = (await (await fetch(`${s.url}/v1/models`)).json()) as any;
    expect(models.data[0].id).toBe("sim-model");
  });

  it("streams OpenAI chunks ending in [DONE], and TGI events ending with the whole text", async () => {
    const s = await sim();
    await loaded(s);
    const sse = await (await post(s, "/v1/completions", { prompt: "p", max_tokens: 3, stream: true })).text();
    const events = sse.trim().split("\n\n");
    expect(events.at(-1)).toBe("data: [DONE]");
    expect(events.slice(0, -1).map((e) => JSON.parse(e.slice(6)).choices[0].text).join("")).toBe(completionText("p", 3));
    const tgi = (await (await post(s, "/generate_stream", { inputs: "p", parameters: { max_new_tokens: 2 } })).text()).trim().split("\n\n");
    expect(JSON.parse(tgi.at(-1)!.slice(5))).toMatchObject({ generated_text: completionText("p", 2), details: { finish_reason: "length", generated_tokens: 2 } });
    expect((await (await post(s, "/generate", { inputs: "p", parameters: { max_new_tokens: 2 } })).json()) as any).toEqual({ generated_text: completionText("p", 2) });
  });

  it.each([
    ["/v1/completions", { prompt: 3 }, 400],
    ["/v1/chat/completions", { messages: [] }, 400],
    ["/generate", { parameters: {} }, 422],
    ["/api/generate", { prompt: "x", options: { num_predict: 0 } }, 400],
  ])("refuses a malformed %s body with %d, as the real server would", async (path, body, status) => {
    const s = await sim();
    await loaded(s);
    expect((await post(s, path, body)).status).toBe(status);
    expect(s.stats()).toMatchObject({ received: 1, failed: 1, completed: 0 });
  });
});

describe("batching model", () => {
  it("throughput rises with concurrency up to max_batch, then stays flat; step time rises with it", () => {
    fc.assert(
      fc.property(fc.double({ min: 0.1, max: 100, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 64 }), (tokenMs, batchCost, maxBatch) => {
        const m = { tokenMs, batchCost, maxBatch };
        for (let c = 1; c < maxBatch + 4; c++) {
          expect(throughputAt(m, c + 1)).toBeGreaterThanOrEqual(throughputAt(m, c) - 1e-9);
          expect(stepMs(m, c + 1)).toBeGreaterThanOrEqual(stepMs(m, c));
        }
        expect(throughputAt(m, maxBatch + 10)).toBeCloseTo(throughputAt(m, maxBatch), 9);
      }),
    );
  });

  it("queues beyond max_batch in arrival order, hands slots over, and drops a waiter that gives up", async () => {
    const e = new Engine({ tokenMs: 10, batchCost: 0.5, maxBatch: 2 });
    const never = new AbortController().signal;
    const a = await e.acquire(never);
    const b = await e.acquire(never);
    expect([a.stepMs, b.stepMs]).toEqual([10, 15]);
    const quitter = new AbortController();
    const order: string[] = [];
    const c = e.acquire(never).then((s) => (order.push("c"), s));
    const gaveUp = e.acquire(quitter.signal).catch((err: unknown) => (order.push("gave up"), err));
    const d = e.acquire(never).then((s) => (order.push("d"), s));
    expect(e.queuedCount).toBe(3);
    quitter.abort();
    expect(await gaveUp).toBeInstanceOf(Aborted);
    a.release();
    b.release();
    await Promise.all([c, d]);
    expect(order).toEqual(["gave up", "c", "d"]);
    expect(e.activeCount).toBe(2);
  });
});

describe("loading and faults", () => {
  it("is unhealthy while loading, then logs vLLM's and TGI's start-up lines", async () => {
    const logFile = join(dir, "load.log");
    const s = await sim({ loadTimeS: 0.2, logFile });
    expect((await fetch(`${s.url}/health`)).status).toBe(503);
    expect((await post(s, "/v1/completions", { prompt: "x" })).status).toBe(503);
    await loaded(s);
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    const log = readFileSync(logFile, "utf8");
    expect(log).toContain("Application startup complete.");
    expect(log).toContain('"message":"Connected"');
  });

  it("answers 500 at the configured error rate, and can change it at run time", async () => {
    const s = await sim({ errorRate: 1 });
    await loaded(s);
    expect((await post(s, "/v1/completions", { prompt: "x", max_tokens: 1 })).status).toBe(500);
    await post(s, "/sim/faults", { error_rate: 0 });
    expect((await post(s, "/v1/completions", { prompt: "x", max_tokens: 1 })).status).toBe(200);
  });

  it("hangs until the client leaves, and counts the cancellation", async () => {
    const s = await sim({ hangRate: 1 });
    await loaded(s);
    const leave = new AbortController();
    const pending = fetch(`${s.url}/v1/completions`, { method: "POST", body: JSON.stringify({ prompt: "x" }), signal: leave.signal });
    await new Promise<void>((r) => {
      const t = setInterval(() => s.stats().hung === 1 && (clearInterval(t), r()), 5);
    });
    leave.abort();
    await expect(pending).rejects.toThrow();
    await new Promise<void>((r) => {
      const t = setInterval(() => s.stats().cancelled === 1 && (clearInterval(t), r()), 5);
    });
    expect(s.stats().hung).toBe(0);
  });
});

describe("CLI", () => {
  it("takes every setting as a flag or a SIM_* variable, the flag winning", () => {
    const o = parseSimOptions(["--port", "9001", "--token-ms", "5", "--fail-load"], { SIM_PORT: "9000", SIM_MAX_BATCH: "8", SIM_ERROR_RATE: "0.25" });
    expect(o).toMatchObject({ port: 9001, tokenMs: 5, maxBatch: 8, errorRate: 0.25, failLoad: true });
    expect(parseSimOptions(["--help"], {})).toBe("help");
    expect(() => parseSimOptions(["--error-rate", "2"], {})).toThrow(/--error-rate \/ SIM_ERROR_RATE/);
    expect(() => parseSimOptions(["--nope"], {})).toThrow(OptionsError);
  });

  it("prints its listening line, crashes on the configured request with exit 1, and exits 0 on SIGTERM", async () => {
    const run = (args: string[]) => {
      const child = spawn(process.execPath, ["--import", "tsx", "sim/model-server/index.ts", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
      children.push(child);
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      const exit = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      const port = new Promise<string>((r) => {
        child.stdout.on("data", () => {
          const m = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
          if (m) r(m[1]!);
        });
      });
      return { child, exit, port, out: () => out };
    };
    const crashing = run(["--port", "0", "--load-time", "0", "--crash-after", "1"]);
    const crashingPort = await crashing.port;
    await fetch(`http://127.0.0.1:${crashingPort}/v1/completions`, { method: "POST", body: "{}" }).catch(() => null);
    expect(await crashing.exit).toBe(1);
    expect(crashing.out()).toMatch(/RuntimeError: Engine/);

    const normal = run(["--port", "0"]);
    await normal.port;
    normal.child.kill("SIGTERM");
    expect(await normal.exit).toBe(0);
    // Two `node --import tsx` start-ups: seconds on a busy machine.
  }, 30_000);
});
