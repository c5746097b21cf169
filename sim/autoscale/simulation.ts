// One run: a trace replayed through one policy. Wires the event loop, the clients (Vast's SDK:
// poll with backoff, retry elsewhere on a worker error), the edge router, the workers and the
// marketplace; applies the policy's actions every tick and on the router's scale-now calls.
import { ENDPOINT_DEFAULTS, type EndpointParams } from "../../core/endpoint.ts";
import { EdgeRouter, ROUTER_DEFAULTS } from "./edge-router.ts";
import { EventLoop } from "./event-loop.ts";
import { GpuWorker } from "./gpu-worker.ts";
import { maxPerf, mixOf, type GpuType } from "./gpu-model.ts";
import { DEFAULT_MARKET, Marketplace, type BootCounts, type Instance, type MarketModel } from "./marketplace.ts";
import type { InstanceView, Offer, ScalingAction, ScalingContext, ScalingPolicy, Trigger } from "./policies/policy.ts";
import { Prng } from "./prng.ts";
import { newRequest, type SimRequest } from "./request-state.ts";
import { Timeline } from "./timeline.ts";
import { headOf, type Trace, type TraceRequest } from "./trace.ts";

/** 2026-01-01T00:00:00Z: the measured window starts here; a multiple of every bucket and tick. */
export const EPOCH = 1_767_225_600_000;

export interface SimOptions {
  trace: Trace;
  policy: ScalingPolicy;
  /** GPU types the endpoint's worker group may rent. */
  gpus: readonly GpuType[];
  params?: Partial<EndpointParams>;
  market?: MarketModel;
  seed?: string;
  /** The trace's first minutes are replayed before the measured window so that no policy starts cold. */
  warmupMs?: number;
  /** Timeline sample period for the pictures. */
  sampleMs?: number;
  /** The client gives up after this long without a worker (Vast's SDK: 600-s default request timeout). */
  clientTimeoutMs?: number;
  /** The SDK's cap on its poll and retry sleeps (`max_poll_interval`, 15 s). */
  maxPollIntervalS?: number;
  /** ROUTE_HOLD_MS for "edge" policies (default 4 s); "poll" policies always get 0. */
  holdMs?: number;
  /** Workload units/s per GPU type; default: each type's sustained rate on the trace's mix. */
  perf?: ReadonlyMap<string, number>;
}

export interface SimResult {
  policy: string;
  window: { from: number; to: number };
  /** Measured requests, in arrival order. */
  requests: SimRequest[];
  instances: readonly Instance[];
  boots: BootCounts;
  busyMs: number;
  timeline: Timeline;
  events: number;
}

export function expectedPerf(gpus: readonly GpuType[], requests: readonly TraceRequest[]): Map<string, number> {
  return new Map(gpus.map((g) => [g.name, maxPerf(g, mixOf(g, requests))]));
}

export function simulate(o: SimOptions): SimResult {
  const params: EndpointParams = { ...ENDPOINT_DEFAULTS, ...o.params };
  const rng = new Prng(o.seed ?? "autoscale");
  const clientRng = rng.fork("clients");
  const warmupMs = o.warmupMs ?? 15 * 60_000;
  const timeoutMs = o.clientTimeoutMs ?? 600_000;
  const capS = o.maxPollIntervalS ?? 15;
  const policy = o.policy;
  const holdMs = policy.clients === "edge" ? (o.holdMs ?? ROUTER_DEFAULTS.holdMs) : 0;
  const window = { from: EPOCH, to: EPOCH + o.trace.durationMs };
  const perf = o.perf ?? expectedPerf(o.gpus, o.trace.requests);
  const offers: Offer[] = o.gpus.map((g) => ({ gpu_name: g.name, gpu_ram_gb: g.gpu_ram_gb, dph: g.dph, storage_dph: g.storage_dph, expected_perf: perf.get(g.name) ?? 0 }));
  const gpuByName = new Map(o.gpus.map((g) => [g.name, g]));

  const loop = new EventLoop(EPOCH - warmupMs);
  const router = new EdgeRouter("sim", params.max_queue_time);
  const workers = new Map<string, GpuWorker>();
  const retired: GpuWorker[] = [];
  const timeline = new Timeline(o.sampleMs ?? 10_000, perf);
  const arrivals = new ArrivalCounter();

  const market = new Marketplace(loop, o.market ?? DEFAULT_MARKET, rng.fork("market"), window, {
    loading: (inst) => router.addLoading(inst.id, inst.gpu.name, loop.now),
    ready: (inst) => {
      const w = new GpuWorker(inst.id, inst.gpu, perf.get(inst.gpu.name) ?? 0, params.max_queue_time, loop, { admitted: () => undefined, done: onDone }, window);
      workers.set(inst.id, w);
      router.markReady(inst.id, w, (loop.now - inst.createdAt) / 1000, loop.now);
      wakeHeld();
    },
    gone: (inst) => {
      router.forget(inst.id);
      const w = workers.get(inst.id);
      if (!w) return;
      workers.delete(inst.id);
      retired.push(w);
      for (const req of w.abortAll(loop.now)) retry(req);
    },
  });

  // ---------------------------------------------------------------- clients

  function arrive(req: SimRequest): void {
    arrivals.add(loop.now, req.cost);
    timeline.arrived(req.cost);
    router.noteCall(req, loop.now, true);
    route(req);
  }

  /** One /route/ call: a worker now, or held at the edge (edge policies), or "waiting" (poll). */
  function route(req: SimRequest): void {
    const w = router.pick(req, loop.now);
    if (w) {
      router.assign(req, w);
      send(req, w.id);
      return;
    }
    req.metColdStart = true;
    if (policy.scaleNow && router.mayAskForCapacity(loop.now, ROUTER_DEFAULTS.scaleNowIntervalMs)) runPolicy("scale-now");
    if (holdMs <= 0) return poll(req);
    router.hold(req, loop.now);
    const gen = req.gen;
    loop.after(holdMs, () => {
      if (req.gen !== gen || !router.held.has(req)) return;
      router.held.delete(req);
      poll(req);
    });
  }

  /** The SDK's poll loop: sleep 1 s, then min(2^attempt + U(0,1), cap), and route again. */
  function poll(req: SimRequest): void {
    const sleepS = req.polls === 0 ? 1 : Math.min(2 ** req.polls + clientRng.next(), capS);
    later(req, sleepS, () => {
      req.polls++;
      router.noteCall(req, loop.now, false);
      route(req);
    });
  }

  /** A worker error (429 or a box that went away): the SDK sleeps min(2^tries + U(0,1), cap), then routes anew. */
  function retry(req: SimRequest): void {
    req.tries++;
    const sleepS = Math.min(2 ** req.tries + clientRng.next(), capS);
    later(req, sleepS, () => {
      req.polls = 0;
      router.noteCall(req, loop.now, false);
      route(req);
    });
  }

  function later(req: SimRequest, sleepS: number, then: () => void): void {
    const gen = ++req.gen;
    loop.after(sleepS * 1000, () => {
      if (req.gen !== gen) return;
      if (loop.now - req.at >= timeoutMs) {
        req.failed = true;
        router.release(req);
        return;
      }
      then();
    });
  }

  function send(req: SimRequest, workerId: string): void {
    const w = workers.get(workerId);
    if (w && w.offer(req, loop.now)) {
      router.unassigned.delete(req);
      return;
    }
    router.noteRejected(req, loop.now);
    router.release(req);
    retry(req);
  }

  function onDone(req: SimRequest): void {
    router.finished(req);
    router.release(req);
    wakeHeld();
  }

  /** The endpoint object wakes its held calls on every ready report and every finish. */
  function wakeHeld(): void {
    if (router.held.size === 0) return;
    for (const req of [...router.held]) {
      const w = router.pick(req, loop.now);
      if (!w) continue;
      req.gen++; // voids the hold expiry
      router.assign(req, w);
      send(req, w.id);
    }
  }

  // ---------------------------------------------------------------- the scaler

  function view(inst: Instance): InstanceView | null {
    if (inst.state === "destroyed") return null;
    return {
      id: inst.id,
      gpu_name: inst.gpu.name,
      state: inst.state,
      since: inst.since,
      created_at: inst.createdAt,
      dph: inst.gpu.dph,
      expected_perf: perf.get(inst.gpu.name) ?? 0,
      loaded: inst.loaded,
      draining: router.isDraining(inst.id),
    };
  }

  function context(): ScalingContext {
    const instances: InstanceView[] = [];
    for (const inst of market.instances()) {
      const v = view(inst);
      if (v) instances.push(v);
    }
    return { now: loop.now, params, snapshot: router.snapshot(loop.now), instances, offers, observed: { arrived: (ms) => arrivals.last(loop.now, ms) } };
  }

  function runPolicy(trigger: Trigger): void {
    apply(policy.decide(context(), trigger));
  }

  /**
   * The scaler's apply step. A failed restart is reported to a policy that tracks restarts (which
   * then plans again at once); for the others it falls back to a fresh create of the same type.
   */
  function apply(actions: readonly ScalingAction[], replanned = false): void {
    let replan = false;
    for (const a of actions) {
      if (a.kind === "create") {
        const gpu = gpuByName.get(a.gpu_name);
        if (gpu) market.create(gpu);
        continue;
      }
      const inst = market.get(a.id);
      if (!inst) continue;
      if (a.kind === "drain" || a.kind === "undrain") {
        router.setDraining(inst.id, a.kind === "drain");
        if (a.kind === "undrain") wakeHeld();
      } else if (a.kind === "start") {
        if (market.start(inst)) continue;
        if (policy.startFailed) {
          policy.startFailed(inst.id, loop.now);
          replan = true;
        } else {
          market.destroy(inst);
          market.create(inst.gpu);
        }
      } else if (a.kind === "stop") market.stop(inst);
      else market.destroy(inst);
    }
    if (replan && !replanned) apply(policy.decide(context(), "scale-now"), true);
  }

  // ---------------------------------------------------------------- schedule

  const requests: SimRequest[] = [];
  const warm = headOf(o.trace, warmupMs).map((r, i) => newRequest(-1 - i, r, EPOCH - warmupMs + r.at, false));
  const measured = o.trace.requests.map((r, i) => {
    const req = newRequest(i, r, EPOCH + r.at, true);
    requests.push(req);
    return req;
  });
  const all = [...warm, ...measured];
  let cursor = 0;
  const nextArrival = () => {
    const req = all[cursor++];
    if (!req) return;
    loop.at(req.at, () => {
      arrive(req);
      nextArrival();
    });
  };
  nextArrival();

  const start = loop.now;
  const end = window.to;
  // The cron keeps running through the drain: requests that arrived just before the end still need workers.
  loop.every(start, policy.tickMs, () => {
    runPolicy("tick");
    return true;
  });
  loop.every(start + ROUTER_DEFAULTS.reportIntervalMs, ROUTER_DEFAULTS.reportIntervalMs, () => {
    router.reportAll(loop.now);
    wakeHeld();
    return true;
  });
  loop.every(window.from, timeline.periodMs, () => {
    timeline.sample(loop.now, market.instances());
    return loop.now < end;
  });

  // Bill the window; keep simulating until every measured request is served or its client gave up.
  loop.run(end);
  market.settle(end);
  const resolved = () => requests.every((r) => r.failed || !Number.isNaN(r.doneAt));
  const hardStop = end + timeoutMs + 3_600_000;
  while (!resolved() && loop.now < hardStop && loop.pending > 0) loop.run(loop.now + 60_000);
  for (const r of requests) if (Number.isNaN(r.doneAt)) r.failed = true;

  let busyMs = 0;
  for (const w of [...workers.values(), ...retired]) {
    w.close(end);
    busyMs += w.busyMs;
  }
  return { policy: policy.name, window, requests, instances: market.history(), boots: market.boots, busyMs, timeline, events: loop.processed };
}

/** Arrivals per whole second over the last hour (a ring), for `Observed.arrived`. */
class ArrivalCounter {
  private readonly second = new Float64Array(3600).fill(-1);
  private readonly workload = new Float64Array(3600);
  private readonly count = new Float64Array(3600);

  add(t: number, cost: number): void {
    const s = Math.floor(t / 1000);
    const i = s % 3600;
    if (this.second[i] !== s) {
      this.second[i] = s;
      this.workload[i] = 0;
      this.count[i] = 0;
    }
    this.workload[i]! += cost;
    this.count[i]! += 1;
  }

  last(now: number, ms: number): { workload: number; requests: number } {
    const s = Math.floor(now / 1000);
    const n = Math.min(3600, Math.ceil(ms / 1000));
    let workload = 0;
    let requests = 0;
    for (let k = 0; k < n; k++) {
      const i = (((s - k) % 3600) + 3600) % 3600;
      if (this.second[i] !== s - k) continue;
      workload += this.workload[i]!;
      requests += this.count[i]!;
    }
    return { workload, requests };
  }
}
