// bench:cold-start — scale from zero on the local stack: the time from a client's first /route/ call to
// its answer, split into the stand-in's boot (instance created → its agent first reported ready: what a
// real box spends booting, loading and benchmarking) and the platform's own share (everything else:
// routing, the scale-now call, the scaler's pass, the Vast create call, waking the held call, the worker call).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { VastClient } from "../demo/vast-client.ts";
import { DEMO_GROUP } from "../scripts/demo-endpoint.ts";
import { startLocalStack } from "../scripts/local-stack.ts";
import { ROOT } from "../scripts/local-workers.ts";
import { median, printTable } from "./load.ts";

const TRIALS = Number(process.env.BENCH_TRIALS ?? 5);

const stateDir = mkdtempSync(join(tmpdir(), "bench-cold-"));
const stack = await startLocalStack({ stateDir, verbose: process.env.VERBOSE === "1" });
const rows: { trial: number; first_answer_s: number; boot_s: number; control_plane_s: number; to_create_s: number; ready_to_answer_s: number }[] = [];

async function admin(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await stack.admin.call(method, path, body);
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

try {
  for (let trial = 1; trial <= TRIALS; trial++) {
    // A new endpoint each trial: zero workers, nothing cached, nothing stopped to restart.
    const name = `cold-${trial}`;
    await admin("POST", "/endpoints", { name, cold_workers: 0, max_workers: 2 });
    await admin("POST", `/endpoints/${name}/workergroups`, DEMO_GROUP);
    const { api_key } = (await admin("POST", `/endpoints/${name}/keys`)) as { api_key: string };
    const before = new Set(stack.sim.account.instances.keys());

    // Watch for the first ready report at a fine grain, from outside the platform.
    let readyAt = NaN;
    let watching = true;
    const watch = (async () => {
      while (watching && Number.isNaN(readyAt)) {
        const { workers } = (await admin("GET", `/endpoints/${name}/workers`)) as { workers: { phase: string }[] };
        if (workers.some((w) => w.phase === "ready")) readyAt = Date.now();
        else await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const t0 = Date.now();
    const client = new VastClient({ router: stack.url.origin, endpoint: name, apiKey: api_key, maxPollInterval: 1, timeoutS: 120 });
    const result = await client.call("/v1/completions", { model: "sim-model", prompt: "cold start", max_tokens: 8 }, { cost: 8 });
    const t1 = Date.now();
    watching = false;
    await watch;
    if (result.status !== 200) throw new Error(`trial ${trial}: worker answered ${result.status}: ${result.text}`);
    const inst = [...stack.sim.account.instances.values()].find((i) => !before.has(i.id));
    if (!inst) throw new Error(`trial ${trial}: no instance was created`);
    const boot = (readyAt - inst.createdAt) / 1000;
    const first = (t1 - t0) / 1000;
    rows.push({
      trial,
      first_answer_s: first,
      boot_s: boot,
      control_plane_s: first - boot,
      to_create_s: (inst.createdAt - t0) / 1000,
      ready_to_answer_s: (t1 - readyAt) / 1000,
    });
    await admin("DELETE", `/endpoints/${name}`);
    await stack.scaled();
  }
} finally {
  await stack.dispose();
  rmSync(stateDir, { recursive: true, force: true });
}

printTable(rows);
const out = {
  first_answer_s: Number(median(rows.map((r) => r.first_answer_s)).toFixed(3)),
  boot_s: Number(median(rows.map((r) => r.boot_s)).toFixed(3)),
  control_plane_s: Number(median(rows.map((r) => r.control_plane_s)).toFixed(3)),
  to_create_s: Number(median(rows.map((r) => r.to_create_s)).toFixed(3)),
  ready_to_answer_s: Number(median(rows.map((r) => r.ready_to_answer_s)).toFixed(3)),
  trials: rows,
  measured_at: new Date().toISOString(),
};
console.log(`median: first answer ${out.first_answer_s} s = boot ${out.boot_s} s + platform ${out.control_plane_s} s (target ≤ 1)`);
mkdirSync(resolve(ROOT, "bench/results"), { recursive: true });
writeFileSync(resolve(ROOT, "bench/results/cold-start.json"), `${JSON.stringify(out, null, 2)}\n`);
