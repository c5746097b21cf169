// What the pictures show, sampled every few seconds of a run: the load that arrived and the capacity
// that was hot (ready), booting (creating, loading, restarting) and cold (stopped with the model on
// disk), all in workload units/s.
import type { Instance } from "./marketplace.ts";

export interface TimelineSeries {
  t: number[];
  load: number[];
  hot: number[];
  booting: number[];
  cold: number[];
}

export class Timeline {
  readonly series: TimelineSeries = { t: [], load: [], hot: [], booting: [], cold: [] };
  private arrivedSince = 0;

  constructor(
    readonly periodMs: number,
    private readonly perf: ReadonlyMap<string, number>,
  ) {}

  arrived(cost: number): void {
    this.arrivedSince += cost;
  }

  sample(t: number, instances: Iterable<Instance>): void {
    let hot = 0;
    let booting = 0;
    let cold = 0;
    for (const inst of instances) {
      const p = this.perf.get(inst.gpu.name) ?? 0;
      if (inst.state === "ready") hot += p;
      else if (inst.state === "stopped") cold += inst.loaded ? p : 0;
      else if (inst.state !== "destroyed") booting += p;
    }
    const s = this.series;
    // The first sample opens the window: the load before it belongs to the warm-up.
    s.load.push(s.t.length === 0 ? 0 : this.arrivedSince / (this.periodMs / 1000));
    s.t.push(t);
    s.hot.push(hot);
    s.booting.push(booting);
    s.cold.push(cold);
    this.arrivedSince = 0;
  }
}
