// `npm start` as a user runs it: it prints the lines scripts read, the printed key routes a completion
// from zero workers, the printed curl snippet works as pasted, a second start on the same state says
// the first is running, and SIGTERM stops every process the stack started (Workers' runtime, agents,
// model servers).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { VastClient } from "../../demo/vast-client.ts";
import { freePort } from "../../sim/vast/processes.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const stateDir = mkdtempSync(join(tmpdir(), "npm-start-"));
const started: ChildProcess[] = [];

function start(port: number): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), STATE_DIR: stateDir, ADMIN_TOKEN: "", CRON_INTERVAL_S: "60" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  let text = "";
  child.stdout!.on("data", (b: Buffer) => (text += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (text += b.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, output: () => text, exited };
}

/** Every live descendant of `pid` (agents and model servers run in their own process groups). */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, pp] of parent) if (pp === p) (out.push(child), walk(child));
  };
  walk(pid);
  return out;
}

const alive = (pid: number) => {
  if (!existsSync(`/proc/${pid}`)) return false;
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

async function lineOf(output: () => string, key: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = output().match(new RegExp(`^${key}: (\\S+)$`, "m"));
    if (m) return m[1]!;
    if (Date.now() > deadline) throw new Error(`no '${key}:' line within ${timeoutMs} ms; output:\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const run = promisify(execFile);
/** Runs a shell snippet with bash (30 s at most) and returns what it printed. */
const bash = async (script: string) => (await run("bash", ["-c", script], { timeout: 30_000 })).stdout;

afterAll(() => {
  for (const c of started) if (c.exitCode === null) c.kill("SIGKILL");
  rmSync(stateDir, { recursive: true, force: true });
});

describe("npm start", () => {
  it("prints router, endpoint, api_key and admin_token; refuses a second start; stops everything on SIGTERM", async () => {
    const port = await freePort();
    const first = start(port);
    const router = await lineOf(first.output, "router", 120_000);
    const endpoint = await lineOf(first.output, "endpoint", 5_000);
    const apiKey = await lineOf(first.output, "api_key", 5_000);
    const adminToken = await lineOf(first.output, "admin_token", 5_000);
    expect(router).toBe(`http://127.0.0.1:${port}`);
    expect(endpoint).toBe("demo");
    expect(first.output()).toContain("curl");

    // From zero workers: the printed key routes a completion.
    const result = await new VastClient({ router, endpoint, apiKey, maxPollInterval: 1, timeoutS: 90 }).call(
      "/v1/completions",
      { model: "demo", prompt: "Hello", max_tokens: 8 },
      { cost: 8 },
    );
    expect(result.status).toBe(200);
    // The printed snippet, pasted into a shell as it is: it routes (polling while a worker boots) and
    // calls the worker; with a wrong key it prints the refusal and stops instead of polling for ever.
    const snippet = first.output().match(/^R=.*?^if \[ -n "\$U" \][^\n]*/ms)?.[0];
    expect(snippet).toBeDefined();
    expect(await bash(snippet!)).toMatch(/"choices":\[\{"index":0,"text":/);
    expect(await bash(snippet!.replace(/K=\S+;/, "K=ek_wrong;"))).toContain('{"error":"Authentication failed"}');

    const listed = await fetch(`${router}/api/v1/endpoints/demo/workers`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(((await listed.json()) as { workers: unknown[] }).workers).toHaveLength(1);

    const second = start(await freePort());
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(/already running from .* \(pid \d+/);

    const family = descendants(first.child.pid!);
    expect(family.length).toBeGreaterThanOrEqual(3); // workerd, an agent, a model server (and their helpers)
    // Twice, as one Ctrl-C reaches it (the terminal's signal and tsx relaying it): still a clean stop.
    first.child.kill("SIGTERM");
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    const deadline = Date.now() + 15_000;
    while (family.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(family.filter(alive)).toEqual([]);
    expect(existsSync(join(stateDir, "start.pid"))).toBe(false);
  }, 240_000);
});
