// bench:agent — in one run, the same closed-loop load (64 clients; non-streaming and streaming) sent
// straight to the simulated model server and through the agent with tokens pre-issued, once per
// HTTP stack the agent can use (node:http + undici, and Hono's node server + undici). Rounds are
// interleaved (direct, node, hono, direct, ...) so drift on this shared machine hits all alike, and
// the reported ratios and added latencies are medians of per-round ratios and differences between
// neighbours. Five rounds, not three: a round's added p50 moves by ±0.3 ms with what else runs on
// the machine, about the size of the effects measured; every round's value is kept in the results.
// Each target first runs 3 s unmeasured (1 s left the JIT cold: the first measured round used up to
// 1.5× the CPU per request of the later ones, for every target alike).
//
// Every process is real: the model server and the agents are child processes (as on a GPU box);
// this process runs the load generator (wrk when installed) and a router stand-in that signs tokens
// with the router's own code and takes the agents' reports. A fourth target, a bare proxy (this
// file run with --bare-proxy: node:http + undici, no auth, no accounting), measures the floor any
// extra HTTP hop costs on this machine, so the agent's own share can be read off.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { startRouterStandIn, type StandInRouter } from "../gpu-agent/test/router-stand-in.ts";
import { Pool, type Dispatcher } from "undici";
import { closedLoop, cpuSeconds, loadGenerator, median, printTable, type LoadResult } from "./load.ts";

if (process.argv[2] === "--bare-proxy") {
  // The floor: read the body, forward `payload`, pipe the answer back. Nothing else.
  const pool = new Pool(process.argv[3]!, { connections: 256, pipelining: 1, keepAliveTimeout: 60_000 });
  // The same dispatch technique as the agent (no Readable in between), so the floor is the best case.
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const { payload } = JSON.parse(Buffer.concat(chunks).toString()) as { payload: unknown };
      // Like the agent, it cancels the upstream call when the client leaves, or a run's last
      // requests would keep the model busy into the next run.
      let upstream: Dispatcher.DispatchController | null = null;
      res.once("close", () => res.writableFinished || upstream?.abort(new Error("client left")));
      pool.dispatch(
        { path: req.url!, method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(payload) },
        {
          onRequestStart: (c) => (upstream = c),
          onResponseStart: (c, status, headers) => {
            res.writeHead(status, { "content-type": String(headers["content-type"]) });
            res.on("drain", () => c.resume());
          },
          onResponseData: (c, chunk) => res.write(chunk) || c.pause(),
          onResponseEnd: () => res.end(),
          onResponseError: () => res.destroy(),
        },
      );
    });
  });
  server.listen(0, "127.0.0.1", () => console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  process.on("SIGTERM", () => process.exit(0));
  await new Promise(() => undefined);
}

const ROOT = resolve(import.meta.dirname, "..");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const MAX_TOKENS = Number(process.env.BENCH_MAX_TOKENS ?? 16);
/** The simulated GPU: ms per token alone, +2 % per extra sequence, 64 decoding together. */
const SIM = { tokenMs: process.env.BENCH_TOKEN_MS ?? "10", batchCost: "0.02", maxBatch: "64" };
const ENDPOINT = "bench";
const WORKER = { id: "w_bench", mtoken: "mt_bench" };

type Target = "direct" | "node" | "hono" | "bare";
type Scenario = "non_streaming" | "streaming";
const TARGETS: Target[] = ["direct", "node", "hono", "bare"];
const LABELS: Record<Target, string> = { direct: "direct to model", node: "agent, node:http", hono: "agent, hono", bare: "bare proxy (floor)" };
const SCENARIOS: Scenario[] = ["non_streaming", "streaming"];
const payloads: Record<Scenario, object> = {
  non_streaming: { prompt: "Benchmark prompt: tell me about rivers.", max_tokens: MAX_TOKENS },
  streaming: { prompt: "Benchmark prompt: tell me about rivers.", max_tokens: MAX_TOKENS, stream: true },
};

interface Child {
  proc: ChildProcess;
  url: string;
}

const children: ChildProcess[] = [];

/** Starts `node --import tsx <script>` and waits for its "listening on" line. */
async function start(script: string, args: string[], env: Record<string, string>): Promise<Child> {
  const proc = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(proc);
  let out = "";
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${script} did not start:\n${out}`)), 30_000);
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        ok(m[1]!);
      }
    });
    proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    proc.once("exit", (code) => fail(new Error(`${script} exited ${code}:\n${out}`)));
  });
  // Keep draining output so a chatty child never blocks on a full pipe.
  proc.stdout!.resume();
  return { proc, url };
}

async function startAgent(router: StandInRouter, sim: Child, stack: "node" | "hono", cacheDir: string): Promise<Child> {
  const agent = await start("gpu-agent/src/index.ts", [], {
    WORKER_ID: WORKER.id,
    MASTER_TOKEN: WORKER.mtoken,
    ENDPOINT,
    PUBLIC_IPADDR: "127.0.0.1",
    WORKER_PORT: "0",
    LISTEN_HOST: "127.0.0.1",
    REPORT_ADDR: router.url,
    BACKEND_URL: sim.url,
    BACKEND: "openai",
    HTTP_STACK: stack,
    // Admission is not what is measured: 64 clients must all be admitted.
    MAX_QUEUE_TIME: "1000000",
    BENCH_ROUNDS: "1",
    BENCH_SECONDS: "1",
    BENCH_MAX_TOKENS: String(MAX_TOKENS),
    AGENT_CACHE_DIR: join(cacheDir, stack),
  });
  for (let i = 0; i < 200; i++) {
    const h = await fetch(`${agent.url}/health`).catch(() => null);
    if (h?.status === 200) return agent;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the ${stack} agent did not become ready`);
}

/** wrk with one pre-built body per request (tokens are single-use), cycling through `bodies`. */
async function wrkBodies(url: string, bodies: string[], seconds: number): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), "wrk-agent-"));
  const lua = join(dir, "bodies.lua");
  const list = bodies.map((b) => `[==[${b}]==]`).join(",\n");
  writeFileSync(
    lua,
    `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nlocal bodies = {\n${list}\n}\nlocal i = 0\n` +
      `request = function()\n  i = i + 1\n  return wrk.format(nil, nil, nil, bodies[((i - 1) % #bodies) + 1])\nend\n`,
  );
  try {
    const { stdout } = await promisify(execFile)("wrk", ["-t1", `-c${CONCURRENCY}`, `-d${seconds}s`, "--latency", "-s", lua, url], { maxBuffer: 1 << 24 });
    const requests = Number(stdout.match(/(\d+) requests in/)?.[1] ?? 0);
    const bad = Number(stdout.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
    const sock = stdout.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
    const sockErrors = sock ? sock.slice(1).reduce((s, x) => s + Number(x), 0) : 0;
    const dur = (text: string | undefined) => {
      const m = text?.match(/^([\d.]+)(us|ms|s)$/);
      return m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2] as "us" | "ms" | "s"] : NaN;
    };
    const secs = dur(stdout.match(/requests in ([\d.]+\w+),/)?.[1]) / 1000;
    return {
      requests: requests - bad,
      errors: bad + sockErrors,
      seconds: secs,
      rps: (requests - bad) / secs,
      p50_ms: dur(stdout.match(/ 50%\s+(\S+)/)?.[1]),
      p99_ms: dur(stdout.match(/ 99%\s+(\S+)/)?.[1]),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Waits until the model server has nothing in flight: each run starts from the same idle state. */
async function idle(simUrl: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const s = (await (await fetch(`${simUrl}/sim/stats`)).json()) as { active: number; queued: number; hung: number };
    if (s.active + s.queued + s.hung === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the model server stays busy between runs");
}

/** One measured run of `scenario` against `target`. */
async function run(target: Target, scenario: Scenario, urls: Record<Target, string>, router: StandInRouter, expectRps: number, seconds = SECONDS): Promise<LoadResult> {
  const url = `${urls[target]}/v1/completions`;
  const payload = payloads[scenario];
  const useWrk = loadGenerator() === "wrk";
  await idle(urls.direct);
  if (target === "direct" || target === "bare") {
    // The bare proxy takes the agent's body shape (it forwards `payload`), without checking anything.
    const body = JSON.stringify(target === "bare" ? { auth_data: {}, payload } : payload);
    return useWrk ? wrkBodies(url, [body], seconds) : closedLoop({ origin: urls[target], path: "/v1/completions", method: "POST", headers: { "content-type": "application/json" }, body, concurrency: CONCURRENCY, seconds });
  }
  // Pre-issue more single-use tokens than the round can use (signing is not what is measured).
  const count = Math.ceil(expectRps * seconds * 1.5) + CONCURRENCY * 4;
  const bodies = await Promise.all(
    Array.from({ length: count }, async () => JSON.stringify({ auth_data: await router.authData({ url: urls[target], cost: MAX_TOKENS }), payload })),
  );
  if (useWrk) return wrkBodies(url, bodies, seconds);
  let i = 0;
  return closedLoop({ origin: urls[target], path: "/v1/completions", method: "POST", headers: { "content-type": "application/json" }, body: () => bodies[i++ % bodies.length]!, concurrency: CONCURRENCY, seconds });
}

const cacheDir = mkdtempSync(join(tmpdir(), "bench-agent-"));
const router = await startRouterStandIn({ workerId: WORKER.id, mtoken: WORKER.mtoken, endpoint: ENDPOINT });
type Row = LoadResult & { cpu_us: number };
const results = Object.fromEntries(SCENARIOS.map((s) => [s, Object.fromEntries(TARGETS.map((t) => [t, [] as Row[]]))])) as Record<Scenario, Record<Target, Row[]>>;

try {
  const sim = await start("sim/model-server/index.ts", ["--port", "0", "--load-time", "0", "--token-ms", SIM.tokenMs, "--batch-cost", SIM.batchCost, "--max-batch", SIM.maxBatch], {});
  const agents = { node: await startAgent(router, sim, "node", cacheDir), hono: await startAgent(router, sim, "hono", cacheDir) };
  const bare = await start("bench/agent.ts", ["--bare-proxy", sim.url], {});
  const urls: Record<Target, string> = { direct: sim.url, node: agents.node.url, hono: agents.hono.url, bare: bare.url };
  const pids: Record<Target, number> = { direct: sim.proc.pid!, node: agents.node.proc.pid!, hono: agents.hono.proc.pid!, bare: bare.proc.pid! };

  // Warm-up: JIT, connection pools, the agents' key lookups.
  for (const scenario of SCENARIOS) {
    for (const target of TARGETS) {
      const w = await run(target, scenario, urls, router, 400, WARMUP_SECONDS);
      if (w.errors > 0 || w.requests === 0) throw new Error(`warm-up of ${target}/${scenario} failed: ${JSON.stringify(w)}`);
    }
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const scenario of SCENARIOS) {
      const expectRps = Math.max(50, ...results[scenario].direct.map((x) => x.rps), 400);
      for (const target of TARGETS) {
        const cpu0 = cpuSeconds(pids[target]);
        const res = await run(target, scenario, urls, router, expectRps);
        results[scenario][target].push({ ...res, cpu_us: ((cpuSeconds(pids[target]) - cpu0) / res.requests) * 1e6 });
      }
    }
  }
} finally {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  await router.close();
  rmSync(cacheDir, { recursive: true, force: true });
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;
/** Per-scenario, per-target figures: medians of per-round values and of per-round ratios to direct. */
function compare(scenario: Scenario, stack: Exclude<Target, "direct">) {
  const d = results[scenario].direct;
  const a = results[scenario][stack];
  return {
    direct_rps: Math.round(median(d.map((x) => x.rps))),
    agent_rps: Math.round(median(a.map((x) => x.rps))),
    agent_vs_direct: r3(median(a.map((x, i) => x.rps / d[i]!.rps))),
    added_p50_ms: r3(median(a.map((x, i) => x.p50_ms - d[i]!.p50_ms))),
    added_p99_ms: r3(median(a.map((x, i) => x.p99_ms - d[i]!.p99_ms))),
    direct_p50_ms: r3(median(d.map((x) => x.p50_ms))),
    agent_p50_ms: r3(median(a.map((x) => x.p50_ms))),
    agent_cpu_us_per_req: Math.round(median(a.map((x) => x.cpu_us))),
    errors: a.reduce((s, x) => s + x.errors, 0) + d.reduce((s, x) => s + x.errors, 0),
    rounds_rps: { direct: d.map((x) => Math.round(x.rps)), agent: a.map((x) => Math.round(x.rps)) },
    /** Each round's added p50 and CPU per request: the spread behind the medians. */
    rounds_added_p50_ms: a.map((x, i) => Math.round((x.p50_ms - d[i]!.p50_ms) * 100) / 100),
    rounds_cpu_us_per_req: a.map((x) => Math.round(x.cpu_us)),
  };
}

const byStack = Object.fromEntries((["node", "hono", "bare"] as const).map((st) => [st, Object.fromEntries(SCENARIOS.map((s) => [s, compare(s, st)]))])) as Record<
  Exclude<Target, "direct">,
  Record<Scenario, ReturnType<typeof compare>>
>;
printTable(
  SCENARIOS.flatMap((s) =>
    TARGETS.map((t) => {
      const rows = results[s][t];
      return {
        scenario: s,
        target: LABELS[t],
        "req/s": Math.round(median(rows.map((x) => x.rps))),
        "p50 ms": r3(median(rows.map((x) => x.p50_ms))),
        "p99 ms": r3(median(rows.map((x) => x.p99_ms))),
        "vs direct": t === "direct" ? "" : byStack[t][s].agent_vs_direct.toFixed(3),
        "+p50 ms": t === "direct" ? "" : byStack[t][s].added_p50_ms.toFixed(3),
        "CPU µs/req": Math.round(median(rows.map((x) => x.cpu_us))),
        errors: rows.reduce((n, x) => n + x.errors, 0),
      };
    }),
  ),
);

// Headline: the chosen stack (node:http), the worse of the two scenarios for each figure.
const node = byStack.node;
const out = {
  direct_rps: Math.round((node.non_streaming.direct_rps + node.streaming.direct_rps) / 2),
  agent_rps: Math.round((node.non_streaming.agent_rps + node.streaming.agent_rps) / 2),
  agent_vs_direct: Math.min(node.non_streaming.agent_vs_direct, node.streaming.agent_vs_direct),
  added_p50_ms: Math.max(node.non_streaming.added_p50_ms, node.streaming.added_p50_ms),
  stack: "node:http + undici",
  scenarios: byStack.node,
  hono: byStack.hono,
  /** The floor: what a proxy that does nothing but forward costs here. */
  bare_proxy: byStack.bare,
  /** The agent's own share of the added p50 (verification, parsing, accounting): agent − bare proxy. */
  agent_over_floor_p50_ms: {
    non_streaming: r3(node.non_streaming.added_p50_ms - byStack.bare.non_streaming.added_p50_ms),
    streaming: r3(node.streaming.added_p50_ms - byStack.bare.streaming.added_p50_ms),
  },
  settings: {
    rounds: ROUNDS,
    seconds_per_round: SECONDS,
    warmup_seconds: WARMUP_SECONDS,
    concurrency: CONCURRENCY,
    max_tokens: MAX_TOKENS,
    sim: { token_ms: Number(SIM.tokenMs), batch_cost: Number(SIM.batchCost), max_batch: Number(SIM.maxBatch) },
    load_generator: loadGenerator(),
  },
  measured_at: new Date().toISOString(),
};
console.log(
  `node:http agent_vs_direct = ${out.agent_vs_direct} (target ≥ 0.95), added_p50_ms = ${out.added_p50_ms} (target ≤ 0.5); ` +
    `hono: ${Math.min(byStack.hono.non_streaming.agent_vs_direct, byStack.hono.streaming.agent_vs_direct)}, ` +
    `${Math.max(byStack.hono.non_streaming.added_p50_ms, byStack.hono.streaming.added_p50_ms)} ms; ` +
    `bare proxy (floor): ${Math.max(byStack.bare.non_streaming.added_p50_ms, byStack.bare.streaming.added_p50_ms)} ms`,
);
mkdirSync(resolve(ROOT, "bench/results"), { recursive: true });
writeFileSync(resolve(ROOT, "bench/results/agent.json"), `${JSON.stringify(out, null, 2)}\n`);
process.exit(0);
