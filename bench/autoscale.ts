// bench:autoscale — replays the public traces through the production scaling policy, four baselines
// and the oracle bound, in one seeded run; prints a table per trace, writes
// bench/results/autoscale.json and one SVG per trace. Options: --traces a,b --seed s
// --time-scale x --load-scale x --trace-dir d --servegen-days n --servegen-start-day n
// --servegen-rate r --warmup-min m --ablation (adds the production policy with each change taken out)
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ablationCatalog, BASELINES, formatTable, loadTrace, policyCatalog, Prng, renderTraceSvg, resultsJson, runTrace, scaleTrace, TRACE_KINDS, verdict, type TraceKind, type TraceRun } from "../sim/autoscale/index.ts";

const { values } = parseArgs({
  options: {
    traces: { type: "string", default: TRACE_KINDS.join(",") },
    seed: { type: "string", default: "autoscale-1" },
    "time-scale": { type: "string", default: "1" },
    "load-scale": { type: "string", default: "1" },
    "trace-dir": { type: "string" },
    "servegen-days": { type: "string", default: "2" },
    "servegen-start-day": { type: "string", default: "0" },
    "servegen-rate": { type: "string", default: "6" },
    "warmup-min": { type: "string", default: "15" },
    out: { type: "string", default: "bench/results" },
    ablation: { type: "boolean", default: false },
  },
});

const kinds = values.traces.split(",").map((s) => s.trim()) as TraceKind[];
for (const k of kinds) if (!TRACE_KINDS.includes(k)) throw new Error(`unknown trace ${k} (known: ${TRACE_KINDS.join(", ")})`);
const rng = new Prng(values.seed);
const outDir = resolve(values.out);
mkdirSync(outDir, { recursive: true });
const started = performance.now();
const runs: TraceRun[] = [];

for (const kind of kinds) {
  const { trace: raw, note } = loadTrace(
    kind,
    {
      dir: values["trace-dir"],
      servegen: { startDay: Number(values["servegen-start-day"]), days: Number(values["servegen-days"]), meanRate: Number(values["servegen-rate"]) },
    },
    rng.fork(`trace:${kind}`),
  );
  if (note) console.log(`note: ${note}`);
  const trace = scaleTrace(raw, { timeScale: Number(values["time-scale"]), loadScale: Number(values["load-scale"]) }, rng.fork(`scale:${kind}`));
  console.log(`\n## ${trace.name}: ${trace.requests.length} requests over ${(trace.durationMs / 3_600_000).toFixed(2)} h — ${trace.origin}`);
  // The pictures show the policies compared; the ablation's variants of ours are in the tables and the JSON.
  const pictured = new Set<string>();
  const catalog = (s: Parameters<typeof policyCatalog>[0]) => {
    const main = policyCatalog(s);
    for (const p of main) pictured.add(p.name);
    return values.ablation ? [...main, ...ablationCatalog(s)] : main;
  };
  const run = runTrace(trace, catalog, {
    seed: `${values.seed}/${kind}`,
    warmupMs: Number(values["warmup-min"]) * 60_000,
    sampleMs: trace.durationMs > 6 * 3_600_000 ? 60_000 : 10_000,
    onPolicy: (r) => console.log(`  ${r.name.padEnd(12)} ${(r.wallMs / 1000).toFixed(1)} s, ${r.events} events`),
  });
  runs.push(run);
  console.log(`GPU types usable: ${run.gpus.map((g) => `${g.name} ($${g.dph}/h, ${Math.round(run.perf.get(g.name) ?? 0)} u/s)`).join(", ")}`);
  console.log(formatTable(run));
  console.log(verdict(run, "ours", BASELINES));
  const svg = resolve(outDir, `autoscale-${trace.name}.svg`);
  writeFileSync(svg, renderTraceSvg({ ...run, runs: run.runs.filter((r) => pictured.has(r.name)) }));
  console.log(`picture: ${svg}`);
}

writeFileSync(resolve(outDir, "autoscale.json"), `${JSON.stringify(resultsJson(runs), null, 2)}\n`);
console.log(`\nwrote ${resolve(outDir, "autoscale.json")} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
