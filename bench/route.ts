// bench:route — in one run, against the router in workerd (Miniflare directly, no wrangler-dev proxy):
// a bare hello route, a bare Durable Object round trip, and /route/ on a warm endpoint with 8 workers.
// Rounds are interleaved (hello, do, route, hello, ...) so drift on this noisy machine hits all three alike.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { generateDevSecrets } from "../scripts/dev-secrets.ts";
import { ROOT, applyLocalMigrations, startWorkers } from "../scripts/local-workers.ts";
import { childPid, closedLoop, cpuSeconds, loadGenerator, median, printTable, type LoadResult } from "./load.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

const secrets = await generateDevSecrets();
const stateDir = mkdtempSync(join(tmpdir(), "bench-route-"));
await applyLocalMigrations(stateDir);
const router = await startWorkers([{ config: "wrangler.toml", entrypoint: "bench/route-worker.ts", vars: { ...secrets, ROUTE_RATE_PER_KEY: "1000000" } }], { stateDir });
const origin = router.url.origin;
async function api(path: string, body?: unknown): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { authorization: `Bearer ${secrets.ADMIN_TOKEN}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${origin}${path}`, { method: "POST", headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

// A warm endpoint: 8 workers that report ready, and keep reporting every second as agents do.
const endpoint = "bench";
await api("/api/v1/endpoints", { name: endpoint });
const { api_key } = (await api(`/api/v1/endpoints/${endpoint}/keys`)) as { api_key: string };
const workers = await Promise.all(
  Array.from({ length: 8 }, async (_, i) => {
    const { id, mtoken } = (await api(`/api/v1/endpoints/${endpoint}/workers`)) as { id: string; mtoken: string };
    return { id, mtoken, url: `http://10.0.0.${i + 1}:3000`, loadtime: 10, max_perf: 1_000_000, cur_load: 0 };
  }),
);
const reportAll = () =>
  Promise.all(workers.map((w) => api("/worker_status/", w)));
await reportAll();
const reporter = setInterval(() => void reportAll().catch(() => undefined), 1000);

const routeBody = JSON.stringify({ endpoint, api_key, cost: 1, replay_timeout: Number(process.env.BENCH_REPLAY ?? 60) });
// The Durable Object round trip is a POST of the same body, so reading a body is not counted as routing.
const post = { method: "POST" as const, headers: { "content-type": "application/json" }, body: routeBody };
const scenarios = {
  hello: { path: "/bench/hello" },
  do: { path: `/bench/do/${endpoint}`, ...post },
  route: {
    path: "/route/",
    method: "POST" as const,
    headers: { "content-type": "application/json" },
    body: routeBody,
    check: (status: number, text: string) => status === 200 && text.includes('"token"'),
  },
};
type Name = keyof typeof scenarios;
/** Per round: the load result and the workerd CPU time it cost per request (steadier than req/s on a shared machine). */
const results: Record<Name, (LoadResult & { cpu_us: number })[]> = { hello: [], do: [], route: [] };
const workerd = childPid("workerd");

try {
  // Warm up every path (isolate, DO, key import, signature cache) before measuring.
  // The route warm-up checks every answer carries a token; the measured runs then count non-200s as errors.
  for (const name of Object.keys(scenarios) as Name[]) {
    const warm = await closedLoop({ origin, concurrency: 4, seconds: 1, ...scenarios[name] });
    if (warm.errors > 0 || warm.requests === 0) throw new Error(`warm-up of ${name} failed: ${JSON.stringify(warm)}`);
  }
  const { check: _check, ...routeScenario } = scenarios.route;
  const measured = { ...scenarios, route: routeScenario };
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of Object.keys(scenarios) as Name[]) {
      const cpu0 = workerd ? cpuSeconds(workerd) : NaN;
      const r = await closedLoop({ origin, concurrency: CONCURRENCY, seconds: SECONDS, ...measured[name] });
      const cpu_us = workerd ? ((cpuSeconds(workerd) - cpu0) / r.requests) * 1e6 : NaN;
      results[name].push({ ...r, cpu_us });
    }
  }
} finally {
  clearInterval(reporter);
  await router.dispose();
  rmSync(stateDir, { recursive: true, force: true });
}

const summary = Object.fromEntries(
  (Object.keys(results) as Name[]).map((name) => {
    const rs = results[name];
    return [
      name,
      {
        rps: median(rs.map((x) => x.rps)),
        p50_ms: median(rs.map((x) => x.p50_ms)),
        p99_ms: median(rs.map((x) => x.p99_ms)),
        cpu_us: median(rs.map((x) => x.cpu_us)),
        errors: rs.reduce((s, x) => s + x.errors, 0),
      },
    ];
  }),
) as Record<Name, { rps: number; p50_ms: number; p99_ms: number; cpu_us: number; errors: number }>;

printTable((Object.keys(summary) as Name[]).map((name) => ({ scenario: name, "req/s": Math.round(summary[name].rps), "p50 ms": summary[name].p50_ms, "p99 ms": summary[name].p99_ms, "workerd CPU µs/req": Math.round(summary[name].cpu_us), errors: summary[name].errors })));
const out = {
  hello_rps: Math.round(summary.hello.rps),
  do_rps: Math.round(summary.do.rps),
  route_rps: Math.round(summary.route.rps),
  // The median of per-round ratios: rounds next to each other share the machine's mood, so the ratio
  // of neighbours is far steadier here than a ratio of medians taken minutes apart.
  route_vs_do: Number(median(results.route.map((r, i) => r.rps / results.do[i]!.rps)).toFixed(3)),
  route_vs_do_cpu: Number(median(results.route.map((r, i) => results.do[i]!.cpu_us / r.cpu_us)).toFixed(3)),
  p50_ms: { hello: summary.hello.p50_ms, do: summary.do.p50_ms, route: summary.route.p50_ms },
  p99_ms: { hello: summary.hello.p99_ms, do: summary.do.p99_ms, route: summary.route.p99_ms },
  errors: { hello: summary.hello.errors, do: summary.do.errors, route: summary.route.errors },
  cpu_us_per_req: { hello: Math.round(summary.hello.cpu_us), do: Math.round(summary.do.cpu_us), route: Math.round(summary.route.cpu_us) },
  rounds: Object.fromEntries((Object.keys(results) as Name[]).map((n) => [n, results[n].map((r) => Math.round(r.rps))])),
  settings: { rounds: ROUNDS, seconds_per_round: SECONDS, concurrency: CONCURRENCY, workers: 8, load_generator: loadGenerator() },
  measured_at: new Date().toISOString(),
};
console.log(`route_vs_do = ${out.route_vs_do} (target ≥ 0.9); by workerd CPU per request: ${out.route_vs_do_cpu}`);
mkdirSync(resolve(ROOT, "bench/results"), { recursive: true });
writeFileSync(resolve(ROOT, "bench/results/route.json"), `${JSON.stringify(out, null, 2)}\n`);
