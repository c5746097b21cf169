// One SVG per trace, written by hand (plain text, no dependency): a panel per policy and one for the
// oracle, time on x, workload units/s on y, with the load that arrived against the capacity that
// was hot, booting and cold. Series are binned to the plot's width (load: mean and max per bin).
import type { TraceRun } from "./run-trace.ts";
import type { TimelineSeries } from "./timeline.ts";

const W = 960;
const PANEL_H = 120;
const GAP = 34;
const LEFT = 64;
const RIGHT = 16;
const TOP = 56;
const COLS = 480;

interface Panel {
  title: string;
  load?: { mean: number[]; max: number[] };
  hot: number[];
  booting?: number[];
  cold?: number[];
}

function bin(values: readonly number[], cols: number, how: "mean" | "max"): number[] {
  const out: number[] = [];
  for (let c = 0; c < cols; c++) {
    const from = Math.floor((c * values.length) / cols);
    const to = Math.max(from + 1, Math.floor(((c + 1) * values.length) / cols));
    let acc = 0;
    let n = 0;
    for (let i = from; i < to && i < values.length; i++) {
      const v = values[i]!;
      acc = how === "max" ? Math.max(acc, v) : acc + v;
      n++;
    }
    out.push(how === "max" ? acc : n ? acc / n : 0);
  }
  return out;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fmt = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(x >= 10_000 ? 0 : 1)}k` : x.toFixed(0));

export function renderTraceSvg(run: TraceRun): string {
  const cols = Math.min(COLS, Math.max(1, run.runs[0]?.timeline.t.length ?? 1));
  const panels: Panel[] = run.runs.map((r) => {
    const s: TimelineSeries = r.timeline;
    const m = r.metrics;
    return {
      title: `${r.name} — $${m.cost_usd.toFixed(2)}, SLO ${(m.slo_attainment * 100).toFixed(2)} %, p99 wait ${m.p99_wait_s.toFixed(1)} s, ${r.gpuTypes.join(" + ") || "no GPU"}`,
      load: { mean: bin(s.load, cols, "mean"), max: bin(s.load, cols, "max") },
      hot: bin(s.hot, cols, "mean"),
      booting: bin(
        s.hot.map((h, i) => h + (s.booting[i] ?? 0)),
        cols,
        "mean",
      ),
      cold: bin(s.cold, cols, "mean"),
    };
  });
  const o = run.oracle;
  const oraclePerf = run.perf.get(o.gpu_name) ?? 0;
  panels.push({
    title: `oracle bound (${o.gpu_name}) — $${o.cost_usd.toFixed(2)}: workers it charges × max_perf`,
    hot: bin(
      o.profile.map((w) => w * oraclePerf),
      cols,
      "mean",
    ),
  });
  let ymax = 1;
  for (const p of panels) {
    for (const v of [...p.hot, ...(p.booting ?? []), ...(p.cold ?? []), ...(p.load?.mean ?? [])]) ymax = Math.max(ymax, v);
  }
  ymax *= 1.1;
  const plotW = W - LEFT - RIGHT;
  const H = TOP + panels.length * (PANEL_H + GAP) + 20;
  const spanH = run.trace.durationMs / 3_600_000;
  const x = (c: number) => LEFT + (c / Math.max(1, cols - 1)) * plotW;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${LEFT}" y="20" font-size="14" font-weight="bold">${esc(run.trace.name)}: load vs capacity (workload units/s), ${spanH.toFixed(spanH < 2 ? 2 : 0)} h</text>`);
  const legend: Array<[string, string, string]> = [
    ["#d9d9d9", "", "load (max per bin)"],
    ["#8c8c8c", "", "load (mean)"],
    ["#1f77b4", "", "hot (ready)"],
    ["#ff7f0e", "4 3", "hot + booting"],
    ["#2ca02c", "2 3", "cold tier (stopped, loaded)"],
  ];
  legend.forEach(([color, dash, label], i) => {
    const lx = LEFT + i * 175;
    out.push(`<line x1="${lx}" y1="38" x2="${lx + 22}" y2="38" stroke="${color}" stroke-width="${i < 2 ? 6 : 2}"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`);
    out.push(`<text x="${lx + 28}" y="42">${label}</text>`);
  });
  panels.forEach((p, i) => {
    const top = TOP + i * (PANEL_H + GAP) + 16;
    const y = (v: number) => top + PANEL_H - (Math.min(v, ymax) / ymax) * PANEL_H;
    const line = (vals: number[]) => vals.map((v, c) => `${c === 0 ? "M" : "L"}${x(c).toFixed(1)},${y(v).toFixed(1)}`).join("");
    const area = (vals: number[]) => `${line(vals)}L${x(vals.length - 1).toFixed(1)},${y(0)}L${x(0).toFixed(1)},${y(0)}Z`;
    out.push(`<text x="${LEFT}" y="${top - 5}" font-weight="bold">${esc(p.title)}</text>`);
    out.push(`<rect x="${LEFT}" y="${top}" width="${plotW}" height="${PANEL_H}" fill="none" stroke="#bbb"/>`);
    for (const f of [0.5, 1]) {
      out.push(`<text x="${LEFT - 4}" y="${y(ymax * f / 1.1) + 4}" text-anchor="end" fill="#666">${fmt((ymax * f) / 1.1)}</text>`);
      out.push(`<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${y((ymax * f) / 1.1)}" y2="${y((ymax * f) / 1.1)}" stroke="#eee"/>`);
    }
    if (p.load) {
      out.push(`<path d="${area(p.load.max)}" fill="#d9d9d9"/>`);
      out.push(`<path d="${area(p.load.mean)}" fill="#8c8c8c"/>`);
    }
    if (p.cold) out.push(`<path d="${line(p.cold)}" fill="none" stroke="#2ca02c" stroke-width="1.5" stroke-dasharray="2 3"/>`);
    if (p.booting) out.push(`<path d="${line(p.booting)}" fill="none" stroke="#ff7f0e" stroke-width="1.2" stroke-dasharray="4 3"/>`);
    out.push(`<path d="${line(p.hot)}" fill="none" stroke="#1f77b4" stroke-width="1.6"/>`);
    for (let k = 0; k <= 4; k++) {
      const tx = LEFT + (k / 4) * plotW;
      const hours = (k / 4) * spanH;
      out.push(`<text x="${tx}" y="${top + PANEL_H + 12}" text-anchor="${k === 0 ? "start" : k === 4 ? "end" : "middle"}" fill="#666">${spanH < 2 ? `${(hours * 60).toFixed(0)} min` : `${hours.toFixed(0)} h`}</text>`);
    }
  });
  out.push("</svg>");
  return out.join("\n");
}
