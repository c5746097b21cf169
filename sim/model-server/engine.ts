// The batching model: a GPU decodes up to `maxBatch` sequences together; each decode step gets
// slower as the batch grows, so throughput rises with concurrency (up to `maxBatch`) and so does
// latency. Beyond `maxBatch`, sequences wait their turn (FIFO).
//
// Each sequence's step time is fixed when it is admitted, from the batch size at that moment, and
// its tokens are due at absolute times (start + i × step). A global step clock would be closer to
// vLLM, but it quantises latency to whole steps and would hide (or exaggerate) the few hundred
// microseconds a proxy in front adds, which is exactly what the agent benchmark measures.

export interface BatchModel {
  /** Decode time per token of a sequence alone on the GPU, ms. */
  tokenMs: number;
  /** Each extra sequence in the batch slows every step by this fraction of `tokenMs`. */
  batchCost: number;
  /** Sequences decoded together; more wait. */
  maxBatch: number;
}

/** Step time (ms per token) with `batch` sequences decoding together. */
export function stepMs(model: BatchModel, batch: number): number {
  return model.tokenMs * (1 + model.batchCost * Math.max(0, batch - 1));
}

/** Tokens per second the whole GPU produces at a given concurrency (the steady state). */
export function throughputAt(model: BatchModel, concurrency: number): number {
  const batch = Math.min(Math.max(1, concurrency), model.maxBatch);
  return (batch * 1000) / stepMs(model, batch);
}

export class Aborted extends Error {
  constructor() {
    super("aborted");
    this.name = "Aborted";
  }
}

/** Resolves at `deadline` (performance.now() time), or rejects with Aborted when `signal` fires. */
export function sleepUntil(deadline: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new Aborted());
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Aborted());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, deadline - performance.now()));
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Waits until `signal` fires (a hung request holds its client until the client gives up). */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(new Aborted());
    else signal.addEventListener("abort", () => reject(new Aborted()), { once: true });
  });
}

export interface Slot {
  /** ms per token for this sequence. */
  readonly stepMs: number;
  /** performance.now() when decoding began. */
  readonly startedAt: number;
  release(): void;
}

/** Batch slots: admission, the FIFO wait beyond `maxBatch`, and the step time at admission. */
export class Engine {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly model: BatchModel) {}

  get activeCount(): number {
    return this.active;
  }

  get queuedCount(): number {
    return this.waiting.length;
  }

  /** A decode slot; waits while the batch is full. Rejects with Aborted if `signal` fires first. */
  async acquire(signal: AbortSignal): Promise<Slot> {
    if (signal.aborted) throw new Aborted();
    if (this.active < this.model.maxBatch) {
      this.active++;
    } else {
      // A finishing sequence hands its slot straight to the head of the queue (`active` unchanged),
      // so a newcomer arriving in the same tick cannot overtake and overfill the batch.
      await new Promise<void>((resolve, reject) => {
        const turn = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.waiting.indexOf(turn);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(new Aborted());
        };
        this.waiting.push(turn);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    }
    let released = false;
    return {
      stepMs: stepMs(this.model, this.active),
      startedAt: performance.now(),
      release: () => {
        if (released) return;
        released = true;
        const next = this.waiting.shift();
        if (next) next();
        else this.active--;
      },
    };
  }
}

/** Seeded PRNG (mulberry32) for fault injection, so a fault pattern can be reproduced. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
