// The load chart: the last hour in 10-s buckets, load (arrived, served) against hot capacity and the
// scaler's target, with the cold tier (stopped-but-loaded workers, from the scaler's decisions) on a
// second axis. Drawn by uPlot, created once and fed new data on every refresh.
import uPlot from "uplot";
import type { EndpointMetrics, ScalerDecision } from "../../core/admin-api.ts";

const HEIGHT = 260;

/** The scaler's latest decision at or before `t` (ms), for each bucket end: a step series. */
function stepped(decisions: readonly ScalerDecision[], ends: readonly number[], pick: (d: ScalerDecision) => number): (number | null)[] {
  let i = -1;
  return ends.map((t) => {
    while (i + 1 < decisions.length && decisions[i + 1]!.at <= t) i++;
    return i >= 0 ? pick(decisions[i]!) : null;
  });
}

function toData(m: EndpointMetrics): uPlot.AlignedData {
  const ends = m.buckets.map((b) => b.start + m.bucket_ms);
  const perSecond = m.bucket_ms / 1000;
  return [
    ends.map((t) => t / 1000),
    m.buckets.map((b) => b.arrived / perSecond),
    m.buckets.map((b) => b.served / perSecond),
    m.buckets.map((b) => b.hot_capacity),
    stepped(m.scaler, ends, (d) => d.target),
    stepped(m.scaler, ends, (d) => d.cold),
  ];
}

/** The lines, in the order of toData's columns; hundreds of buckets read better without point markers. */
const SERIES = (step: uPlot.Series.PathBuilder | undefined): uPlot.Series[] =>
  [
    { label: "arrived", stroke: "#2563eb", fill: "rgba(37, 99, 235, 0.12)", width: 1.5 },
    { label: "served", stroke: "#16a34a", width: 1.5 },
    { label: "hot capacity", stroke: "#ea580c", width: 2, paths: step },
    { label: "scaler target", stroke: "#9333ea", width: 1.5, dash: [6, 4], paths: step },
    { label: "cold tier", scale: "workers", stroke: "#64748b", width: 1.5, dash: [2, 3], paths: step },
  ].map((s) => ({ ...s, points: { show: false } }));

function options(width: number): uPlot.Options {
  return {
    width,
    height: HEIGHT,
    cursor: { drag: { x: false, y: false } },
    legend: { live: false },
    scales: { x: { time: true }, workers: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max) + 1)] } },
    axes: [
      {},
      { label: "workload units/s", size: 60 },
      { scale: "workers", side: 1, label: "cold workers", grid: { show: false }, size: 50 },
    ],
    series: [{}, ...SERIES(uPlot.paths.stepped?.({ align: 1 }))],
  };
}

export class LoadChart {
  private plot: uPlot | undefined;
  private readonly resize = new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: HEIGHT }));

  constructor(private readonly el: HTMLElement) {
    this.resize.observe(el);
  }

  private width(): number {
    return Math.max(320, this.el.clientWidth);
  }

  show(metrics: EndpointMetrics): void {
    const data = toData(metrics);
    if (this.plot) this.plot.setData(data);
    else this.plot = new uPlot(options(this.width()), data, this.el);
  }

  /** Another endpoint was picked: start a fresh chart (its scales differ). */
  reset(): void {
    this.plot?.destroy();
    this.plot = undefined;
  }
}
