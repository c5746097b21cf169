// A client that behaves as Vast's documented clients do (vast-sdk `Serverless`): POST /route/, re-poll
// with the same request_idx while no worker is ready (exponential backoff with jitter, capped), then
// POST {auth_data, payload} to the worker, and re-route on 408, 429, 5xx or a broken connection.
// Used by `npm run demo`, the end-to-end tests and the cold-start benchmark.
import { z } from "zod";
import { RouteAnswer, type RouteReady } from "../core/wire.ts";

export interface VastClientOptions {
  router: string;
  endpoint: string;
  apiKey: string;
  /** Longest sleep between re-polls, seconds (Vast's SDK: 15; we default lower for a local stack). */
  maxPollInterval?: number;
  /** Give up after this many seconds in total. */
  timeoutS?: number;
  /** Called on each step, for progress displays and tests. */
  onEvent?: (e: ClientEvent) => void;
}

export type ClientEvent =
  | { kind: "waiting"; status: string; request_idx: number }
  | { kind: "routed"; url: string; reqnum: number; request_idx: number }
  | { kind: "retry"; status: number | null; reason: string };

export interface CallOptions {
  cost?: number;
  /** Read the answer chunk by chunk as it arrives. */
  onChunk?: (chunk: string) => void;
  signal?: AbortSignal;
}

export interface CallResult {
  status: number;
  text: string;
  url: string;
  request_idx: number;
  attempts: number;
  /** ms from the call to the worker's first byte, and to the last. */
  first_byte_ms: number;
  total_ms: number;
  /** ms spent before a worker was assigned (at the edge). */
  routing_ms: number;
}

const RETRYABLE = (s: number) => s === 408 || s === 429 || s >= 500;
const ErrorBody = z.object({ error_msg: z.string().optional(), error: z.string().optional() }).loose();

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });

export class VastClient {
  constructor(private readonly opts: VastClientOptions) {}

  /** One /route/ call. */
  async route(cost: number, requestIdx: number, signal?: AbortSignal): Promise<RouteAnswer> {
    const res = await fetch(new URL("/route/", this.opts.router), {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.opts.apiKey}` },
      body: JSON.stringify({ endpoint: this.opts.endpoint, api_key: this.opts.apiKey, cost, request_idx: requestIdx, replay_timeout: 60 }),
      signal,
    });
    const body: unknown = await res.json().catch(() => ({}));
    if (!res.ok) {
      const err = ErrorBody.safeParse(body);
      throw new RouteError(res.status, err.success ? (err.data.error_msg ?? err.data.error ?? "") : "");
    }
    return RouteAnswer.parse(body);
  }

  /** Routes until a worker is ready, with Vast's backoff; like Vast's SDK, retries a broken connection and 5xx. */
  async waitForWorker(cost: number, requestIdx: number, deadline: number, signal?: AbortSignal): Promise<RouteReady> {
    let idx = requestIdx;
    for (let attempt = 0; ; attempt++) {
      let answer: RouteAnswer;
      try {
        answer = await this.route(cost, idx, signal);
      } catch (e) {
        const retryable = !(e instanceof RouteError) || RETRYABLE(e.status);
        if (!retryable || signal?.aborted || Date.now() > deadline) throw e;
        this.opts.onEvent?.({ kind: "retry", status: e instanceof RouteError ? e.status : null, reason: String(e) });
        await sleep(Math.min(2 ** Math.min(attempt, 3) + Math.random(), 5) * 1000, signal);
        continue;
      }
      idx = answer.request_idx || idx;
      if ("url" in answer) {
        this.opts.onEvent?.({ kind: "routed", url: answer.url, reqnum: answer.reqnum, request_idx: idx });
        return answer;
      }
      this.opts.onEvent?.({ kind: "waiting", status: answer.status, request_idx: idx });
      if (Date.now() > deadline) throw new Error(`no worker became ready in time (last status: ${answer.status})`);
      const capS = this.opts.maxPollInterval ?? 5;
      await sleep(Math.min(2 ** attempt + Math.random(), capS) * 1000, signal);
    }
  }

  /** Sends `payload` to `route` on a worker (e.g. "/v1/completions") the way Vast's SDK does. */
  async call(route: string, payload: unknown, options: CallOptions = {}): Promise<CallResult> {
    const cost = options.cost ?? 100;
    const started = performance.now();
    const deadline = Date.now() + (this.opts.timeoutS ?? 300) * 1000;
    let idx = 0;
    let routingMs = 0;
    for (let attempt = 1; ; attempt++) {
      const t0 = performance.now();
      const ready = await this.waitForWorker(cost, idx, deadline, options.signal);
      routingMs += performance.now() - t0;
      idx = ready.request_idx;
      let res: Response;
      try {
        res = await fetch(new URL(route, ready.url), {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${this.opts.apiKey}` },
          body: JSON.stringify({ auth_data: ready, payload }),
          signal: options.signal,
        });
      } catch (e) {
        if (options.signal?.aborted || Date.now() > deadline) throw e;
        this.opts.onEvent?.({ kind: "retry", status: null, reason: String(e) });
        await sleep(Math.min(2 ** attempt + Math.random(), 5) * 1000, options.signal);
        continue;
      }
      if (RETRYABLE(res.status) && Date.now() < deadline) {
        const text = await res.text();
        this.opts.onEvent?.({ kind: "retry", status: res.status, reason: text.slice(0, 200) });
        await sleep(Math.min(2 ** attempt + Math.random(), 5) * 1000, options.signal);
        continue;
      }
      let firstByte = NaN;
      let text = "";
      const decoder = new TextDecoder();
      const reader = res.body?.getReader();
      for (;;) {
        const { done, value } = reader ? await reader.read() : { done: true, value: undefined };
        if (done) break;
        if (Number.isNaN(firstByte)) firstByte = performance.now() - started;
        const piece = decoder.decode(value, { stream: true });
        text += piece;
        options.onChunk?.(piece);
      }
      return {
        status: res.status,
        text,
        url: ready.url,
        request_idx: idx,
        attempts: attempt,
        first_byte_ms: Number.isNaN(firstByte) ? performance.now() - started : firstByte,
        total_ms: performance.now() - started,
        routing_ms: routingMs,
      };
    }
  }
}

export class RouteError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(`/route/ answered ${status}${message ? `: ${message}` : ""}`);
  }
}
