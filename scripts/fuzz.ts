// npm run fuzz — property-based malformed input against every surface, 10,000 cases each
// (FUZZ_RUNS), on a real router (Miniflare, real D1 migrations, its Durable Objects on disk) and a
// real gpu-agent in front of the simulated model server. Every answer must be a documented 4xx in
// the documented shape; afterwards the stored state must be what it was. Prints a table and writes
// bench/results/fuzz.json. FUZZ_SEED replays a run; FUZZ_SURFACES=route,admin picks surfaces.
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { printTable } from "../bench/load.ts";
import { agentSurface } from "../test/fuzz/agent-surface.ts";
import { fuzzAgent, fuzzRouterSurface, ROUTER_SURFACES, type CampaignRow } from "../test/fuzz/campaign.ts";
import { startAgentTarget, startRouterTarget } from "../test/fuzz/targets.ts";
import { ROOT } from "./local-workers.ts";

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const only = process.env.FUZZ_SURFACES?.split(",");
const pick = (name: string) => !only || only.includes(name);

const rows: CampaignRow[] = [];
let objectsBefore = 0;
let objectsAfter = 0;

const router = await startRouterTarget();
try {
  objectsBefore = router.objectsOnDisk();
  for (const [key, surface] of ROUTER_SURFACES) {
    if (!pick(key)) continue;
    console.log(`${surface.name}: ${RUNS} cases (seed ${SEED})…`);
    const row = await fuzzRouterSurface(router, surface, { numRuns: RUNS, seed: SEED });
    if (row.state_detail) console.log(`${surface.name}: state changed: ${row.state_detail}`);
    rows.push(row);
  }
  objectsAfter = router.objectsOnDisk();
} finally {
  await router.close();
}

if (pick("agent")) {
  const agent = await startAgentTarget();
  try {
    console.log(`${agentSurface.name}: ${RUNS} cases (seed ${SEED})…`);
    rows.push(await fuzzAgent(agent, { numRuns: RUNS, seed: SEED }));
  } finally {
    await agent.close();
  }
}

printTable(
  rows.map((r) => ({
    surface: r.surface,
    cases: r.cases,
    seconds: r.seconds,
    statuses: Object.entries(r.by_status).map(([s, n]) => `${s}:${n}`).join(" "),
    failure: r.failure ? "YES" : "none",
    state: r.state_unchanged ? "unchanged" : "CHANGED",
  })),
);
for (const r of rows) if (r.failure) console.log(`${r.surface}: ${r.failure}`);
console.log(`Durable Objects on disk: ${objectsBefore} before the router surfaces, ${objectsAfter} after (unknown endpoint names in /route/ create them)`);
const out = {
  runs_per_surface: RUNS,
  seed: SEED,
  surfaces: rows,
  /** Each /route/ call naming an unknown endpoint leaves an empty Durable Object on disk (see docs/RELIABILITY.md). */
  durable_objects_on_disk: { before: objectsBefore, after: objectsAfter },
  measured_at: new Date().toISOString(),
};
if (!only) {
  mkdirSync(resolve(ROOT, "bench/results"), { recursive: true });
  writeFileSync(resolve(ROOT, "bench/results/fuzz.json"), `${JSON.stringify(out, null, 2)}\n`);
}
const bad = rows.filter((r) => r.failure || !r.state_unchanged);
console.log(bad.length === 0 ? `no failure: ${rows.reduce((s, r) => s + r.cases, 0)} cases, every answer a documented 4xx, state unchanged` : `${bad.length} surface(s) failed`);
process.exit(bad.length === 0 ? 0 : 1);
