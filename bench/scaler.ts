// bench:scaler — one scaling pass (the real runTick: list, one D1 read batch, snapshots, decide,
// apply, closing batch) over 1, 10, 100 and 1,000 endpoints of 10 workers each, against a canned
// account: D1 in workerd (Miniflare, migrations applied), the stand-in Vast in a child process
// seeded with every instance, and canned router snapshots (structured-cloned per call, as RPC would).
// Two scenarios per size: "steady" (load matches the fleet: nothing to do) and "churn" (a tenth of
// the endpoints lost a worker's worth of load: one stop each, batched). Measured: wall time, CPU of
// this process (the scaler's code, plus the Node side of Miniflare's D1 proxy), D1 round trips and
// statements, Vast calls. Writes bench/results/scaler.json.
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { D1Database, D1PreparedStatement } from "@cloudflare/workers-types/experimental";
import { Miniflare } from "miniflare";
import { unstable_splitSqlQuery } from "wrangler";
import { mintId } from "../core/secret.ts";
import { LOAD_BUCKET_MS, type EndpointSnapshot } from "../core/snapshot.ts";
import { ScalerConfig } from "../scaler-worker/src/config.ts";
import { runTick, type TickReport } from "../scaler-worker/src/tick.ts";
import { createVastClient } from "../scaler-worker/src/vast-client.ts";
import { median, printTable } from "./load.ts";

const ROOT = resolve(import.meta.dirname, "..");
const SIZES = (process.env.BENCH_SIZES ?? "1,10,100,1000").split(",").map(Number);
const WORKERS = 10;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const PERF = 100;

// ---------------------------------------------------------------- the stand-in Vast (child process)

const vastProc = spawn(process.execPath, ["--import", "tsx", resolve(ROOT, "sim/vast/index.ts"), "--port", "0", "--no-processes", "--rate", "0"], {
  cwd: ROOT,
  stdio: ["ignore", "pipe", "inherit"],
});
const vastUrl = await new Promise<string>((res, rej) => {
  let out = "";
  vastProc.stdout!.on("data", (c: Buffer) => {
    out += c.toString();
    const m = /listening on (http:\/\/\S+)/.exec(out);
    if (m) res(m[1]!);
  });
  vastProc.once("exit", () => rej(new Error(`stand-in exited: ${out}`)));
});
process.on("exit", () => vastProc.kill("SIGKILL"));
const post = async (path: string, body: unknown) => (await fetch(`${vastUrl}${path}`, { method: "POST", body: JSON.stringify(body) })).json();

// ---------------------------------------------------------------- D1 in workerd, counted

const mf = new Miniflare({ modules: true, script: "export default { fetch() { return new Response('') } }", d1Databases: { DB: "bench" }, cf: false });
const rawD1 = await mf.getD1Database("DB");
for (const file of readdirSync(resolve(ROOT, "migrations")).filter((f) => f.endsWith(".sql")).sort()) {
  for (const q of unstable_splitSqlQuery(readFileSync(resolve(ROOT, "migrations", file), "utf8"))) await rawD1.prepare(q).run();
}

const meter = { trips: 0, statements: 0 };
/** The D1 binding as the scaler sees it, counting round trips (a batch is one) and statements. */
const d1 = new Proxy(rawD1, {
  get(target, prop, receiver) {
    if (prop === "batch") {
      return (stmts: D1PreparedStatement[]) => {
        meter.trips++;
        meter.statements += stmts.length;
        return target.batch(stmts);
      };
    }
    if (prop === "prepare") {
      return (sql: string) => {
        const stmt = target.prepare(sql);
        const wrap = (s: D1PreparedStatement): D1PreparedStatement =>
          new Proxy(s, {
            get(t, p) {
              const v = Reflect.get(t, p);
              if (p === "bind") return (...args: unknown[]) => wrap(t.bind(...args));
              if (["all", "run", "first", "raw"].includes(String(p))) {
                return (...args: unknown[]) => {
                  meter.trips++;
                  meter.statements++;
                  return (v as (...a: unknown[]) => unknown).apply(t, args);
                };
              }
              return typeof v === "function" ? v.bind(t) : v;
            },
          });
        return wrap(stmt);
      };
    }
    return Reflect.get(target, prop, receiver);
  },
}) as unknown as D1Database;

const config = ScalerConfig.parse({ VAST_API_URL: `${vastUrl}/api/v0`, VAST_API_KEY: "sim-key", REPORT_ADDR: "http://router.bench", VAST_MAX_CALLS_PER_TICK: "10000" });

// ---------------------------------------------------------------- a canned account

interface Canned {
  names: string[];
  snapshots: Map<string, EndpointSnapshot>;
  workerIds: Map<string, string[]>;
}

async function seed(n: number): Promise<Canned> {
  await post("/sim/reset", {});
  await rawD1.batch(["scaler_leases", "events", "gpu_perf", "group_load_times", "workers", "worker_groups", "endpoints"].map((t) => rawD1.prepare(`DELETE FROM ${t}`)));
  const now = Date.now();
  const names = Array.from({ length: n }, (_, i) => `bench-${i}`);
  const workerIds = new Map(names.map((name) => [name, Array.from({ length: WORKERS }, () => mintId("w_"))]));
  const all = names.flatMap((name) => workerIds.get(name)!);
  const { ids } = (await post("/sim/seed", { instances: all.map((id) => ({ label: `egs:${id}`, gpu_name: "RTX 4090", dph_total: 0.4, phase: "running" })) })) as { ids: number[] };
  const stmts: D1PreparedStatement[] = [];
  names.forEach((name, e) => {
    const id = e + 1;
    stmts.push(rawD1.prepare(`INSERT INTO endpoints (id, name, cold_workers, max_workers) VALUES (?, ?, 0, 20)`).bind(id, name));
    stmts.push(rawD1.prepare(`INSERT INTO worker_groups (id, endpoint_id, name, image, gpu_ram) VALUES (?, ?, 'default', 'img', 24)`).bind(id, id));
    stmts.push(rawD1.prepare(`INSERT INTO gpu_perf (group_id, gpu_name, perf) VALUES (?, 'RTX 4090', ?)`).bind(id, PERF));
  });
  let k = 0;
  names.forEach((name, e) => {
    for (const wid of workerIds.get(name)!) {
      stmts.push(
        rawD1
          .prepare(
            `INSERT INTO workers (id, endpoint_id, group_id, kind, mtoken_hash, vast_instance_id, status, gpu_name, dph_total, perf, state_since, ready_at, created_at)
             VALUES (?, ?, ?, 'instance', 'x', ?, 'running', 'RTX 4090', 0.4, ?, ?, ?, ?)`,
          )
          .bind(wid, e + 1, e + 1, ids[k++]!, PERF, now - 3_600_000, now - 3_500_000, now - 3_600_000),
      );
    }
  });
  for (let i = 0; i < stmts.length; i += 500) await rawD1.batch(stmts.slice(i, i + 500));
  return { names, workerIds, snapshots: new Map() };
}

/** Load that needs exactly the 10 workers (850 u/s → target 944 u/s), or one fewer ("lost"). */
function snapshot(name: string, ids: string[], rate: number, now: number): EndpointSnapshot {
  const buckets = [];
  for (let start = now - 600_000 - (now % LOAD_BUCKET_MS); start < now; start += LOAD_BUCKET_MS) {
    // The bucket in progress holds only what arrived so far.
    const work = (rate * (Math.min(now, start + LOAD_BUCKET_MS) - start)) / 1000;
    buckets.push({ start, arrived: work, requests: 10, served: work, rejected: 0, held_peak: 0 });
  }
  // A real snapshot carries the whole hour of buckets.
  for (let start = buckets[0]!.start - 300 * LOAD_BUCKET_MS; start < buckets[0]!.start; start += LOAD_BUCKET_MS) buckets.unshift({ start, arrived: 0, requests: 0, served: 0, rejected: 0, held_peak: 0 });
  return {
    endpoint: name,
    now,
    workers: ids.map((id) => ({ id, url: "http://10.0.0.1:3000", phase: "ready" as const, cur_load: 0, pending_load: 0, max_perf: PERF, last_report_age_s: 2, loadtime: 30, error_msg: "", gpu_name: "RTX 4090", version: "1" })),
    buckets: buckets.slice(-360),
    waiting: { requests: 0, workload: 0 },
    last_request_at: now - 1000,
  };
}

interface Pass {
  wall_ms: number;
  cpu_ms: number;
  d1_round_trips: number;
  d1_statements: number;
  vast_calls: number;
  vast_by_route: Record<string, number>;
  actions: number;
}

async function pass(canned: Canned, lostEvery: number): Promise<Pass> {
  const now = Date.now();
  for (const [i, name] of canned.names.entries()) {
    const rate = lostEvery > 0 && i % lostEvery === 0 ? 750 : 850;
    canned.snapshots.set(name, snapshot(name, canned.workerIds.get(name)!, rate, now));
  }
  const vast = createVastClient({
    baseUrl: config.VAST_API_URL,
    apiKey: config.VAST_API_KEY,
    labelPrefix: config.INSTANCE_LABEL_PREFIX,
    policy: { timeoutMs: 30_000, maxAttempts: 1, baseMs: 1, capMs: 1, retryBudget: 0, maxCalls: 10_000, stormThreshold: 10 },
  });
  meter.trips = 0;
  meter.statements = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const report: TickReport = await runTick(
    {
      d1,
      vast,
      config,
      objects: {
        snapshot: async (name) => structuredClone(canned.snapshots.get(name)),
        forget: async () => true,
        setDrain: async (_name, ids) => ids.length,
      },
    },
    { kind: "cron" },
  );
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (report.status !== "done") throw new Error(`pass failed: ${report.detail}`);
  return {
    wall_ms: Math.round(wall),
    cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
    d1_round_trips: meter.trips,
    d1_statements: meter.statements,
    vast_calls: report.vast.calls,
    vast_by_route: report.vast.byRoute,
    actions: report.actions,
  };
}

// Quiet the per-tick log line: one JSON line per pass would drown the table.
const realLog = console.log;
const results: Record<string, unknown>[] = [];
const rows: Record<string, string | number>[] = [];
try {
  for (const n of SIZES) {
    const canned = await seed(n);
    console.log = () => {};
    const steady: Pass[] = [];
    for (let r = 0; r < REPEATS; r++) steady.push(await pass(canned, 0));
    const churn = await pass(canned, 10);
    console.log = realLog;
    const s = steady.sort((a, b) => a.cpu_ms - b.cpu_ms)[Math.floor(steady.length / 2)]!;
    for (const [scenario, p] of [["steady", s], ["churn", churn]] as const) {
      results.push({ endpoints: n, workers: n * WORKERS, scenario, ...p, ...(scenario === "steady" ? { cpu_ms_runs: steady.map((x) => x.cpu_ms) } : {}) });
      rows.push({
        endpoints: n,
        workers: n * WORKERS,
        scenario,
        "wall ms": p.wall_ms,
        "cpu ms": p.cpu_ms,
        "D1 trips": p.d1_round_trips,
        "D1 stmts": p.d1_statements,
        "Vast calls": p.vast_calls,
        actions: p.actions,
      });
    }
    console.log(`${n} endpoints: steady cpu ${median(steady.map((x) => x.cpu_ms))} ms, churn ${churn.actions} actions in ${churn.vast_calls} Vast calls`);
  }
} finally {
  console.log = realLog;
  await mf.dispose();
  vastProc.kill("SIGTERM");
}

console.log("");
printTable(rows);
const out = resolve(ROOT, "bench/results/scaler.json");
mkdirSync(resolve(ROOT, "bench/results"), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify(
    {
      what: "one scaling pass (runTick) per size; steady = nothing to do, churn = a tenth of the endpoints release one worker",
      machine: { node: process.version, cpus: 2 },
      target: { cpu_ms_at_1000_endpoints: 5000, vast_calls_and_d1_trips: "constant in the number of workers" },
      results,
    },
    null,
    2,
  )}\n`,
);
console.log(`\nwrote ${out}`);
