// npm run soak — steady load through /route/ and the agents on the local stack for N minutes (default
// 10; `--minutes N` or SOAK_MINUTES), then per minute: requests, errors, p50/p99 of the whole call
// (route + worker answer, as a Vast SDK client sees it) and the resident memory of every process:
// workerd (router + scaler), each instance's agent and model server, and this Node process (which
// hosts the stand-in Vast and the load generator). Writes bench/results/soak.json.
// Pass: zero errors, and flat memory: each process's last minute within 10 % of its second minute.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { VastClient } from "../demo/vast-client.ts";
import { DEMO_GROUP } from "../scripts/demo-endpoint.ts";
import { startLocalStack } from "../scripts/local-stack.ts";
import { ROOT } from "../scripts/local-workers.ts";
import { childPid, median, percentile, printTable } from "./load.ts";

const { values: flags } = parseArgs({ options: { minutes: { type: "string" }, rps: { type: "string" } }, strict: true });
const MINUTES = Number(flags.minutes ?? process.env.SOAK_MINUTES ?? 10);
/** Arrivals per second, open loop (a steady rate, whatever the latency). */
const RPS = Number(flags.rps ?? process.env.SOAK_RPS ?? 8);
/** The scaler's cron cadence (production: 60 s). */
const TICK_S = Number(process.env.SOAK_TICK_S ?? 60);
/** Memory is sampled this often; a minute's figure is the median of its samples (one GC does not count). */
const SAMPLE_S = 5;
/** Last minute vs second minute: the flat-memory criterion. */
const FLAT = 0.1;
if (!(MINUTES >= 2) || !(RPS > 0)) throw new Error("soak: --minutes must be ≥ 2 and --rps > 0");

/** Resident memory, MB: the whole (VmRSS) and its anonymous part (heaps; RSS also counts mapped files). */
function memoryMb(pid: number): { rss: number; anon: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(status.match(new RegExp(`${field}:\\s+(\\d+) kB`))?.[1]);
    const rss = kb("VmRSS");
    return Number.isFinite(rss) ? { rss: rss / 1024, anon: kb("RssAnon") / 1024 } : null;
  } catch {
    return null; // gone
  }
}

const stateDir = mkdtempSync(join(tmpdir(), "soak-"));
const stack = await startLocalStack({ stateDir, verbose: process.env.VERBOSE === "1" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function admin(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await stack.admin.call(method, path, body);
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** The processes to watch, by a stable name: workerd, this process, and each instance's children. */
function processes(): Map<string, number> {
  const out = new Map<string, number>();
  const workerd = childPid("workerd");
  if (workerd) out.set("workerd (router + scaler)", workerd);
  out.set("node: stand-in Vast + load generator", process.pid);
  for (const id of stack.sim.launcher?.ids() ?? []) {
    const [model, agent] = stack.sim.launcher!.pids(id);
    if (agent) out.set(`agent ${id}`, agent);
    if (model) out.set(`model server ${id}`, model);
  }
  return out;
}

interface Sample {
  ok: boolean;
  ms: number;
  minute: number;
  retries: number;
  detail?: string;
}

const endpoint = "soak";
let exitCode = 0;
try {
  // A fleet sized by the load (no scale to zero, nothing kept cold), at most 3 workers.
  await admin("POST", "/endpoints", { name: endpoint, cold_workers: 0, max_workers: 3, min_load: 0 });
  await admin("POST", `/endpoints/${endpoint}/workergroups`, DEMO_GROUP);
  const { api_key } = (await admin("POST", `/endpoints/${endpoint}/keys`)) as { api_key: string };
  const client = new VastClient({ router: stack.url.origin, endpoint, apiKey: api_key, maxPollInterval: 1, timeoutS: 120 });
  const payload = (i: number) => ({ model: "sim-model", prompt: `soak request ${i}`, max_tokens: 16 });

  // Warm-up (not measured): scale from zero and one served request.
  const warm = await client.call("/v1/completions", payload(-1), { cost: 16 });
  if (warm.status !== 200) throw new Error(`warm-up answered ${warm.status}: ${warm.text}`);
  console.log(`warm: first answer after ${(warm.total_ms / 1000).toFixed(1)} s; soaking ${MINUTES} min at ${RPS} req/s`);

  const samples: Sample[] = [];
  const memory: Map<string, { rss: number; anon: number }>[][] = Array.from({ length: MINUTES }, () => []);
  const started = performance.now();
  const end = started + MINUTES * 60_000;
  const minuteOf = (t: number) => Math.min(MINUTES - 1, Math.floor((t - started) / 60_000));
  const inflight = new Set<Promise<void>>();

  // The scaler's cron, one pass at a time, as Cloudflare runs it.
  let ticking = true;
  let tickTimer: NodeJS.Timeout | undefined;
  const ticks = (async () => {
    while (ticking) {
      await new Promise((r) => (tickTimer = setTimeout(r, TICK_S * 1000)));
      if (ticking) await stack.scaled().catch((e: unknown) => console.error(`tick failed: ${String(e)}`));
    }
  })();

  // Memory, every SAMPLE_S.
  const sampler = (async () => {
    while (performance.now() < end) {
      const m = minuteOf(performance.now());
      const snap = new Map<string, { rss: number; anon: number }>();
      for (const [name, pid] of processes()) {
        const mb = memoryMb(pid);
        if (mb !== null) snap.set(name, mb);
      }
      memory[m]!.push(snap);
      await sleep(SAMPLE_S * 1000);
    }
  })();

  // Open-loop arrivals at RPS.
  let i = 0;
  let lastReport = started;
  while (performance.now() < end) {
    const due = started + (i * 1000) / RPS;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (performance.now() >= end) break;
    const n = i++;
    const t0 = performance.now();
    let retries = 0;
    const p = (async () => {
      try {
        const r = await new VastClient({
          router: stack.url.origin,
          endpoint,
          apiKey: api_key,
          maxPollInterval: 1,
          timeoutS: 120,
          onEvent: (e) => void (e.kind === "retry" && retries++),
        }).call("/v1/completions", payload(n), { cost: 16 });
        const ok = r.status === 200 && r.text.includes("choices");
        samples.push({ ok, ms: performance.now() - t0, minute: minuteOf(t0), retries, detail: ok ? undefined : `${r.status} ${r.text.slice(0, 200)}` });
      } catch (e) {
        samples.push({ ok: false, ms: performance.now() - t0, minute: minuteOf(t0), retries, detail: String(e).slice(0, 200) });
      }
    })();
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    if (performance.now() - lastReport >= 60_000) {
      lastReport = performance.now();
      const m = minuteOf(lastReport) - 1;
      const done = samples.filter((s) => s.minute === m);
      console.log(`minute ${m + 1}: ${done.length} requests, ${done.filter((s) => !s.ok).length} errors, ${inflight.size} in flight`);
    }
  }
  await Promise.all([...inflight]);
  await sampler;
  ticking = false;
  clearTimeout(tickTimer);

  const names = [...new Set(memory.flatMap((m) => m.flatMap((s) => [...s.keys()])))];
  const medianRss = (minute: number, name: string, part: "rss" | "anon" = "rss"): number | null => {
    const xs = memory[minute]!.map((s) => s.get(name)?.[part]).filter((v): v is number => v !== undefined && Number.isFinite(v));
    return xs.length ? median(xs) : null;
  };
  const minutes = Array.from({ length: MINUTES }, (_, m) => {
    const done = samples.filter((s) => s.minute === m);
    const lat = done.filter((s) => s.ok).map((s) => s.ms).sort((a, b) => a - b);
    return {
      minute: m + 1,
      requests: done.length,
      errors: done.filter((s) => !s.ok).length,
      retries: done.reduce((sum, s) => sum + s.retries, 0),
      p50_ms: Number(percentile(lat, 50).toFixed(1)),
      p99_ms: Number(percentile(lat, 99).toFixed(1)),
      rss_mb: Object.fromEntries(names.flatMap((n) => {
        const v = medianRss(m, n);
        return v === null ? [] : [[n, Number(v.toFixed(1))]];
      })),
      anon_mb: Object.fromEntries(names.flatMap((n) => {
        const v = medianRss(m, n, "anon");
        return v === null ? [] : [[n, Number(v.toFixed(1))]];
      })),
    };
  });
  // Flat memory: last minute against the second (the first includes start-up and warm caches).
  const flat = names.map((n) => {
    const second = medianRss(1, n);
    const last = medianRss(MINUTES - 1, n);
    const ratio = second !== null && last !== null ? last / second : null;
    return { process: n, second_min_mb: second, last_min_mb: last, ratio, flat: ratio === null ? null : Math.abs(ratio - 1) <= FLAT };
  });
  const errors = samples.filter((s) => !s.ok);
  const result = {
    generated_at: new Date().toISOString(),
    command: "npm run soak",
    settings: { minutes: MINUTES, rps: RPS, tick_s: TICK_S, memory_sample_s: SAMPLE_S, payload: "POST /v1/completions max_tokens 16, cost 16", endpoint: { cold_workers: 0, max_workers: 3, group: DEMO_GROUP.name } },
    totals: {
      requests: samples.length,
      errors: errors.length,
      retries: samples.reduce((sum, s) => sum + s.retries, 0),
      p50_ms: Number(percentile(samples.filter((s) => s.ok).map((s) => s.ms).sort((a, b) => a - b), 50).toFixed(1)),
      p99_ms: Number(percentile(samples.filter((s) => s.ok).map((s) => s.ms).sort((a, b) => a - b), 99).toFixed(1)),
      instances_at_end: stack.sim.account.instances.size,
    },
    minutes,
    memory_flat: flat,
    first_errors: errors.slice(0, 10).map((e) => e.detail),
    pass: {
      zero_errors: errors.length === 0,
      // Only processes alive in both minutes are judged (an instance replaced by the scaler is not the same process).
      flat_memory: flat.every((f) => f.flat !== false),
    },
  };

  console.log("");
  printTable(minutes.map(({ rss_mb, anon_mb: _anon, ...m }) => ({ ...m, ...Object.fromEntries(Object.entries(rss_mb).map(([k, v]) => [`${k.replace(/ \(.*\)|: .*/, "")} MB`, v])) })));
  console.log("");
  printTable(flat.map((f) => ({ process: f.process, "min 2 MB": f.second_min_mb ?? "-", "last MB": f.last_min_mb ?? "-", ratio: f.ratio ?? "-", flat: f.flat === null ? "n/a" : f.flat ? "yes" : "NO" })));
  console.log(`\n${result.totals.requests} requests, ${result.totals.errors} errors, ${result.totals.retries} client retries; zero errors: ${result.pass.zero_errors}, flat memory: ${result.pass.flat_memory}`);
  const dir = resolve(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "soak.json"), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${join(dir, "soak.json")}`);
  if (!result.pass.zero_errors || !result.pass.flat_memory) exitCode = 1;
  void ticks;
} finally {
  await stack.dispose();
  rmSync(stateDir, { recursive: true, force: true });
}
process.exit(exitCode);
