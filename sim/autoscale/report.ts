// The benchmark's tables and its JSON, from trace runs.
import type { TraceRun } from "./run-trace.ts";

export interface ResultRow {
  cost_usd: number;
  gpu_hours: number;
  slo_attainment: number;
  p99_wait_s: number | null;
  failed: number;
  p50_wait_s: number | null;
  cold_starts: number;
  idle_gpu_hours: number;
  vs_oracle: number;
}

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** `{trace: {policy: {cost_usd, gpu_hours, slo_attainment, p99_wait_s, failed, ...}}}`; the oracle's waits are null (a bound, not a run). */
export function resultsJson(runs: readonly TraceRun[]): Record<string, Record<string, ResultRow>> {
  const out: Record<string, Record<string, ResultRow>> = {};
  for (const run of runs) {
    const o = run.oracle;
    const rows: Record<string, ResultRow> = {};
    for (const r of run.runs) {
      const m = r.metrics;
      rows[r.name] = {
        cost_usd: r4(m.cost_usd),
        gpu_hours: r4(m.gpu_hours),
        slo_attainment: r4(m.slo_attainment),
        p99_wait_s: r4(m.p99_wait_s),
        failed: m.failed,
        p50_wait_s: r4(m.p50_wait_s),
        cold_starts: m.cold_starts,
        idle_gpu_hours: r4(m.idle_gpu_hours),
        vs_oracle: r4(m.cost_usd / o.cost_usd),
      };
    }
    rows.oracle = {
      cost_usd: r4(o.cost_usd),
      gpu_hours: r4(o.gpu_hours),
      slo_attainment: 1,
      p99_wait_s: null,
      failed: 0,
      p50_wait_s: null,
      cold_starts: o.reboots,
      idle_gpu_hours: r4(Math.max(0, o.gpu_hours - o.fluidS / 3600)),
      vs_oracle: 1,
    };
    out[run.trace.name] = rows;
  }
  return out;
}

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
}

export function formatTable(run: TraceRun): string {
  const head = ["policy", "cost $", "GPU-h", "SLO %", "p50 wait s", "p99 wait s", "failed", "cold starts", "idle GPU-h", "× oracle", "GPU"];
  const rows: string[][] = run.runs.map((r) => {
    const m = r.metrics;
    return [
      r.name,
      m.cost_usd.toFixed(2),
      m.gpu_hours.toFixed(2),
      (m.slo_attainment * 100).toFixed(2),
      m.p50_wait_s.toFixed(1),
      m.p99_wait_s.toFixed(1),
      String(m.failed),
      String(m.cold_starts),
      m.idle_gpu_hours.toFixed(2),
      (m.cost_usd / run.oracle.cost_usd).toFixed(2),
      r.gpuTypes.join("+"),
    ];
  });
  const o = run.oracle;
  rows.push(["oracle (bound)", o.cost_usd.toFixed(2), o.gpu_hours.toFixed(2), "100.00", "—", "—", "0", String(o.reboots), Math.max(0, o.gpu_hours - o.fluidS / 3600).toFixed(2), "1.00", o.gpu_name]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [pad(head, widths), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map((r) => pad(r, widths))].join("\n");
}

/**
 * The checks, stated for the policy named `ours`: attainment, cheaper than the baselines
 * (`rivals`: every other run if not given) that match it, ratio to the oracle.
 */
export function verdict(run: TraceRun, name = "ours", rivalNames?: readonly string[]): string {
  const me = run.runs.find((r) => r.name === name);
  if (!me) return "";
  const m = me.metrics;
  const rivals = run.runs.filter((r) => r !== me && (!rivalNames || rivalNames.includes(r.name)) && r.metrics.slo_attainment >= m.slo_attainment);
  const cheaper = rivals.filter((r) => r.metrics.cost_usd < m.cost_usd).map((r) => r.name);
  return [
    `${name}: SLO ${(m.slo_attainment * 100).toFixed(2)} % (${m.slo_attainment >= 0.99 ? "meets" : "misses"} 99 %)`,
    rivals.length === 0
      ? "no other policy reaches its attainment"
      : cheaper.length === 0
        ? `cheaper than every policy at ≥ its attainment (${rivals.map((r) => r.name).join(", ")})`
        : `NOT the cheapest at its attainment: ${cheaper.join(", ")} cost less`,
    `cost ÷ oracle = ${(m.cost_usd / run.oracle.cost_usd).toFixed(2)} (target ≤ 1.15)`,
  ].join("; ");
}
