// A Vast-like GPU marketplace: instances go creating → loading → ready, stop to a cold tier (model
// on disk, GPU released) and restart in tens of seconds — unless the host's GPU was re-rented
// meanwhile, in which case the start fails at once (`resources_unavailable`). Billing as Vast bills:
// the GPU while loading (or restarting) and ready, the disk from create to destroy.
import type { EventLoop } from "./event-loop.ts";
import type { GpuType } from "./gpu-model.ts";
import type { Prng } from "./prng.ts";

export type InstanceState = "creating" | "loading" | "ready" | "stopped" | "starting" | "destroyed";

/** Clipped log-normal: median, log-space sigma, bounds (seconds). */
export interface Duration {
  median: number;
  sigma: number;
  min: number;
  max: number;
}

export interface MarketModel {
  /** Fresh create: placement, image pull, container start. Not GPU-billed (Vast: "creating"). */
  createS: Duration;
  /** Model load and the agent's benchmark after a create. GPU-billed ("loading"). */
  loadS: Duration;
  /** Restart of a stopped instance with the model on disk. GPU-billed. */
  restartS: Duration;
  /** Probability that the host's GPU was re-rented while stopped for `stoppedS`. */
  restartFailure(stoppedS: number): number;
}

/** Defaults and their sources: docs/autoscale.md, "Marketplace model". */
export const DEFAULT_MARKET: MarketModel = {
  createS: { median: 75, sigma: 0.6, min: 20, max: 600 },
  loadS: { median: 60, sigma: 0.35, min: 25, max: 300 },
  restartS: { median: 30, sigma: 0.25, min: 20, max: 60 },
  restartFailure: (stoppedS) => 1 - 0.95 * Math.exp(-stoppedS / 43_200),
};

/** The shortest GPU-billed boot this market allows: what any new ready worker costs at least. */
export function minBilledBootS(model: MarketModel): number {
  return Math.min(model.loadS.min, model.restartS.min);
}

export interface Instance {
  readonly id: string;
  readonly gpu: GpuType;
  state: InstanceState;
  /** When the current state began. */
  since: number;
  readonly createdAt: number;
  /** The model is on the instance's disk (a stopped instance restarts fast only then). */
  loaded: boolean;
  gpuMs: number;
  storageMs: number;
  /** Bumped on every transition: scheduled transitions of an older generation are void. */
  gen: number;
}

export interface MarketHooks {
  /** The agent is up and reports "loading". */
  loading(inst: Instance): void;
  ready(inst: Instance): void;
  /** The instance stopped or was destroyed: its worker is gone. */
  gone(inst: Instance): void;
}

export interface BootCounts {
  creates: number;
  restarts: number;
  failedRestarts: number;
}

export class Marketplace {
  private readonly live = new Map<string, Instance>();
  private readonly all: Instance[] = [];
  private nextId = 1;
  readonly boots: BootCounts = { creates: 0, restarts: 0, failedRestarts: 0 };

  constructor(
    private readonly loop: EventLoop,
    private readonly model: MarketModel,
    private readonly rng: Prng,
    private readonly window: { from: number; to: number },
    private readonly hooks: MarketHooks,
  ) {}

  instances(): IterableIterator<Instance> {
    return this.live.values();
  }

  get(id: string): Instance | undefined {
    return this.live.get(id);
  }

  create(gpu: GpuType): Instance {
    const now = this.loop.now;
    const inst: Instance = { id: `i${this.nextId++}`, gpu, state: "creating", since: now, createdAt: now, loaded: false, gpuMs: 0, storageMs: 0, gen: 0 };
    this.live.set(inst.id, inst);
    this.all.push(inst);
    if (this.inWindow(now)) this.boots.creates++;
    const gen = inst.gen;
    this.loop.after(this.draw(this.model.createS), () => {
      if (inst.gen !== gen) return;
      this.enter(inst, "loading");
      this.hooks.loading(inst);
      this.loop.after(this.draw(this.model.loadS), () => {
        if (inst.gen !== gen + 1) return;
        inst.loaded = true;
        this.enter(inst, "ready");
        this.hooks.ready(inst);
      });
    });
    return inst;
  }

  /** Restarts a stopped instance; false when the GPU was re-rented (the instance stays stopped). */
  start(inst: Instance): boolean {
    if (inst.state !== "stopped") return inst.state !== "destroyed";
    const now = this.loop.now;
    if (this.rng.next() < this.model.restartFailure((now - inst.since) / 1000)) {
      if (this.inWindow(now)) this.boots.failedRestarts++;
      return false;
    }
    if (this.inWindow(now)) this.boots.restarts++;
    // Without the model on disk (stopped before it loaded) a restart is a full load.
    const duration = this.draw(inst.loaded ? this.model.restartS : this.model.loadS);
    this.enter(inst, "starting");
    this.hooks.loading(inst);
    const gen = inst.gen;
    this.loop.after(duration, () => {
      if (inst.gen !== gen) return;
      inst.loaded = true;
      this.enter(inst, "ready");
      this.hooks.ready(inst);
    });
    return true;
  }

  stop(inst: Instance): void {
    if (inst.state === "stopped" || inst.state === "destroyed") return;
    const hadWorker = inst.state !== "creating";
    this.enter(inst, "stopped");
    if (hadWorker) this.hooks.gone(inst);
  }

  destroy(inst: Instance): void {
    if (inst.state === "destroyed") return;
    const hadWorker = inst.state === "loading" || inst.state === "starting" || inst.state === "ready";
    this.enter(inst, "destroyed");
    this.live.delete(inst.id);
    if (hadWorker) this.hooks.gone(inst);
  }

  /** Settles every instance's bill at `now` (the end of the run). */
  settle(now: number): void {
    for (const inst of this.live.values()) this.account(inst, now);
  }

  /** Every instance ever created, for billing totals. */
  history(): readonly Instance[] {
    return this.all;
  }

  private enter(inst: Instance, state: InstanceState): void {
    const now = this.loop.now;
    this.account(inst, now);
    inst.state = state;
    inst.since = now;
    inst.gen++;
  }

  /** Adds the time since the last transition (inside the measured window) to the bills. */
  private account(inst: Instance, now: number): void {
    const from = Math.max(inst.since, this.window.from);
    const to = Math.min(now, this.window.to);
    if (to > from && inst.state !== "destroyed") {
      inst.storageMs += to - from;
      if (inst.state === "loading" || inst.state === "starting" || inst.state === "ready") inst.gpuMs += to - from;
    }
    inst.since = Math.max(inst.since, now);
  }

  private inWindow(t: number): boolean {
    return t >= this.window.from && t < this.window.to;
  }

  private draw(d: Duration): number {
    return Math.min(d.max, Math.max(d.min, this.rng.logNormal(d.median, d.sigma))) * 1000;
  }
}
