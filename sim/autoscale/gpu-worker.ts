// One GPU box with the agent in front of it: the agent's admission (imported from the agent, not
// copied), then the engine of gpu-model.ts — FIFO wait for a batch slot and KV room, one prefill at
// a time, decode in the batch. Times of first token and completion are known at admission, so a
// request costs one event here.
import { admit } from "../../gpu-agent/src/admission.ts";
import type { EventLoop } from "./event-loop.ts";
import { decodeSeconds, kvTokensOf, prefillSeconds, type GpuType } from "./gpu-model.ts";
import type { SimRequest } from "./request-state.ts";

export interface WorkerHooks {
  /** The request got a slot: its wait is over. */
  admitted(req: SimRequest, t: number): void;
  done(req: SimRequest, t: number): void;
}

export class GpuWorker {
  private readonly queue: SimRequest[] = [];
  private head = 0;
  private readonly running = new Set<SimRequest>();
  private slots = 0;
  private kv = 0;
  private prefillFreeAt = 0;
  /** Workload queued or in a slot (the agent's in-flight load). */
  inflightLoad = 0;
  /** Workload finished since the last report (`cur_perf`). */
  servedSinceReport = 0;
  /** Busy (≥ 1 request queued or running) ms inside the measured window. */
  busyMs = 0;
  private busySince: number | null = null;

  constructor(
    readonly id: string,
    readonly gpu: GpuType,
    /** Benchmarked capacity, workload units/s. */
    readonly maxPerf: number,
    private readonly maxQueueTime: number,
    private readonly loop: EventLoop,
    private readonly hooks: WorkerHooks,
    private readonly window: { from: number; to: number },
  ) {}

  get inflightCount(): number {
    return this.queue.length - this.head + this.running.size;
  }

  /** The agent's admission: refuse (429) when the work ahead would exceed `max_queue_time`. */
  offer(req: SimRequest, now: number): boolean {
    if (!admit(this.inflightLoad, req.cost, this.maxPerf, this.maxQueueTime).admit) return false;
    this.markBusy(now);
    this.inflightLoad += req.cost;
    req.workerId = this.id;
    this.queue.push(req);
    this.admitFromQueue(now);
    return true;
  }

  /** The box went away (stopped or destroyed): every request on it is handed back to its client. */
  abortAll(now: number): SimRequest[] {
    const lost = [...this.running, ...this.queue.slice(this.head)];
    for (const r of lost) {
      r.gen++;
      r.workerId = null;
      r.admittedAt = NaN;
      r.firstTokenAt = NaN;
    }
    this.running.clear();
    this.queue.length = 0;
    this.head = 0;
    this.slots = 0;
    this.kv = 0;
    this.inflightLoad = 0;
    this.markIdle(now);
    return lost;
  }

  /** Closes the busy interval at the end of the run. */
  close(now: number): void {
    this.markIdle(now);
  }

  private admitFromQueue(now: number): void {
    while (this.head < this.queue.length && this.slots < this.gpu.max_batch) {
      const req = this.queue[this.head]!;
      const kv = kvTokensOf(req.trace);
      // An oversized request still runs alone, as vLLM would reject it only at startup limits.
      if (this.kv + kv > this.gpu.kv_tokens && this.slots > 0) break;
      this.head++;
      this.slots++;
      this.kv += kv;
      this.running.add(req);
      const start = Math.max(now, this.prefillFreeAt);
      const firstToken = start + prefillSeconds(this.gpu, req.trace) * 1000;
      this.prefillFreeAt = firstToken;
      const done = firstToken + decodeSeconds(this.gpu, req.trace) * 1000;
      req.admittedAt = now;
      req.firstTokenAt = firstToken;
      this.hooks.admitted(req, now);
      const gen = req.gen;
      this.loop.at(done, () => {
        if (req.gen === gen) this.finish(req, kv);
      });
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  private finish(req: SimRequest, kv: number): void {
    const now = this.loop.now;
    this.running.delete(req);
    this.slots--;
    this.kv -= kv;
    this.inflightLoad = this.inflightCount === 0 ? 0 : this.inflightLoad - req.cost;
    this.servedSinceReport += req.cost;
    req.workerId = null;
    req.doneAt = now;
    this.admitFromQueue(now);
    if (this.inflightCount === 0) this.markIdle(now);
    this.hooks.done(req, now);
  }

  private markBusy(now: number): void {
    if (this.busySince === null) this.busySince = now;
  }

  private markIdle(now: number): void {
    if (this.busySince === null) return;
    const from = Math.max(this.busySince, this.window.from);
    const to = Math.min(now, this.window.to);
    if (to > from) this.busyMs += to - from;
    this.busySince = null;
  }
}
