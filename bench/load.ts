// A closed-loop HTTP load generator for the benchmarks: `concurrency` clients, each sending its next
// request as soon as the previous answer is read, over keep-alive connections. wrk (C, from Debian)
// when it is installed: on 2 cores a Node client would eat much of the CPU it is measuring.
// Otherwise undici in this process.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Pool } from "undici";

export interface LoadSpec {
  origin: string;
  path: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  /** A fixed body, or one per request. */
  body?: string | (() => string);
  concurrency: number;
  seconds: number;
  /** Returns false when an answer is wrong (counted as an error). */
  check?: (status: number, body: string) => boolean;
}

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

let wrkPresent: boolean | undefined;

/** Which generator `closedLoop` uses here. `BENCH_LOADGEN=undici` forces the Node one. */
export function loadGenerator(): "wrk" | "undici" {
  if (process.env.BENCH_LOADGEN === "undici") return "undici";
  if (wrkPresent === undefined) {
    try {
      execFileSync("wrk", ["--version"], { stdio: "ignore" });
      wrkPresent = true;
    } catch (e) {
      // wrk --version exits 1 after printing its banner; only a missing binary is ENOENT.
      wrkPresent = (e as NodeJS.ErrnoException).code !== "ENOENT";
    }
  }
  return wrkPresent ? "wrk" : "undici";
}

function parseDuration(text: string | undefined): number {
  const m = text?.match(/^([\d.]+)(us|ms|s|m)$/);
  if (!m) return NaN;
  const scale = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2] as "us" | "ms" | "s" | "m"];
  return Number(m[1]) * scale;
}

async function wrkLoop(spec: LoadSpec): Promise<LoadResult> {
  if (typeof spec.body === "function") throw new Error("wrk takes a fixed body");
  const dir = mkdtempSync(join(tmpdir(), "wrk-"));
  const lua = join(dir, "request.lua");
  const lines = [`wrk.method = ${JSON.stringify(spec.method ?? "GET")}`];
  for (const [k, v] of Object.entries(spec.headers ?? {})) lines.push(`wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`);
  if (spec.body !== undefined) lines.push(`wrk.body = ${JSON.stringify(spec.body)}`);
  writeFileSync(lua, `${lines.join("\n")}\n`);
  try {
    // With WRK_CPU set, wrk runs pinned to that CPU (the server pinned to another: see pinProcess).
    const cmd = process.env.WRK_CPU ? "taskset" : "wrk";
    const pre = process.env.WRK_CPU ? ["-c", process.env.WRK_CPU, "wrk"] : [];
    const { stdout } = await promisify(execFile)(cmd, [...pre, "-t1", `-c${spec.concurrency}`, `-d${spec.seconds}s`, "--latency", "-s", lua, `${spec.origin}${spec.path}`]);
    const requests = Number(stdout.match(/(\d+) requests in/)?.[1] ?? 0);
    const bad = Number(stdout.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
    const socket = stdout.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
    const socketErrors = socket ? Number(socket[1]) + Number(socket[2]) + Number(socket[3]) + Number(socket[4]) : 0;
    const seconds = parseDuration(stdout.match(/requests in ([\d.]+\w+),/)?.[1]) / 1000;
    return {
      requests: requests - bad,
      errors: bad + socketErrors,
      seconds,
      rps: (requests - bad) / seconds,
      p50_ms: parseDuration(stdout.match(/ 50%\s+(\S+)/)?.[1]),
      p99_ms: parseDuration(stdout.match(/ 99%\s+(\S+)/)?.[1]),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function closedLoop(spec: LoadSpec): Promise<LoadResult> {
  if (loadGenerator() === "wrk" && !spec.check && typeof spec.body !== "function") return wrkLoop(spec);
  const pool = new Pool(spec.origin, { connections: spec.concurrency, pipelining: 1, keepAliveTimeout: 30_000 });
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + spec.seconds * 1000;
  const client = async () => {
    while (performance.now() < deadline) {
      const body = typeof spec.body === "function" ? spec.body() : spec.body;
      const t0 = performance.now();
      try {
        const res = await pool.request({ path: spec.path, method: spec.method ?? "GET", headers: spec.headers, body });
        const text = await res.body.text();
        const ok = spec.check ? spec.check(res.statusCode, text) : res.statusCode < 400;
        if (ok) latencies.push(performance.now() - t0);
        else errors++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, client));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    seconds,
    rps: latencies.length / seconds,
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
  };
}

/** Prints rows as an aligned table. */
export function printTable(rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]!);
  const fmt = (v: string | number) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c] ?? "").length)));
  const line = (cells: string[]) => cells.map((s, i) => s.padStart(widths[i]!)).join("  ");
  console.log(line(cols));
  for (const r of rows) console.log(line(cols.map((c) => fmt(r[c] ?? ""))));
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}

/** The pid of this process's child named `name` (workerd under Miniflare), or null. */
export function childPid(name: string): number | null {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (comm === name && ppid === process.pid) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  return null;
}
