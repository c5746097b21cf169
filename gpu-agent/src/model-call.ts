// The request path, whatever HTTP stack carries it: parse → verify → admit → forward → account.
// The front end hands over the body, a link to the client (did it leave?) and a sink for the
// answer; the model server's status, headers and chunks go into the sink as they arrive, or the
// call throws an AppError for the front end to render before anything was sent.
import { AppError } from "../../core/app-error.ts";
import type { AgentState } from "../../core/wire.ts";
import { admit } from "./admission.ts";
import { CallAborted, backendFailure, type Backend } from "./backend.ts";
import type { LoadLedger, Outcome } from "./load-ledger.ts";
import { outcomeOfStatus, type CallOutcome, type Metrics } from "./metrics.ts";
import type { RequestAuth } from "./request-auth.ts";

/** The client's connection, as far as the call path cares. */
export interface ClientLink {
  readonly gone: boolean;
  /** `cb` runs once if the client disconnects before its answer is complete (at once if it already has). */
  onGone(cb: () => void): void;
}

/** Where the model server's answer goes, chunk by chunk, without buffering. */
export interface AnswerSink {
  /** Status and headers; called once, before any write. */
  start(status: number, headers: Record<string, string>): void;
  /** false: the client is slow; the upstream pauses until `onDrain`'s callback runs. */
  write(chunk: Buffer): boolean;
  onDrain(cb: () => void): void;
  end(): void;
  /** The model server broke mid-answer: end the client's answer abruptly so it knows. */
  abort(): void;
}

export interface IncomingCall {
  /** Path and query as received. */
  url: string;
  body: Buffer;
  accept: string | undefined;
  client: ClientLink;
}

export interface CallDeps {
  auth: RequestAuth;
  ledger: LoadLedger;
  backend: Backend;
  metrics: Metrics;
  state: () => AgentState;
  maxPerf: () => number;
  maxQueueTimeS: number;
}

/** The query minus `api_key`: Vast's SDK puts the endpoint key there, and the model server must not see it. */
export function backendPath(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  params.delete("api_key");
  const rest = params.toString();
  return rest ? `${url.slice(0, q)}?${rest}` : url.slice(0, q);
}

/** Fatal: a body that is not UTF-8 is not JSON (RFC 8259 §8.1); replacing bytes would alter the payload. */
const utf8 = new TextDecoder("utf-8", { fatal: true });

export class ModelCalls {
  /** Abort functions of the calls in flight, so a drain past its deadline can cancel what is left. */
  private readonly live = new Set<() => void>();

  constructor(private readonly deps: CallDeps) {}

  /** Resolves once the answer has started flowing into `sink`; rejects with an AppError before that. */
  async handle(call: IncomingCall, sink: AnswerSink): Promise<void> {
    const startedAt = performance.now();
    let grant;
    try {
      grant = await this.admitCall(call);
    } catch (e) {
      if (e instanceof AppError) this.deps.metrics.count(outcomeOfStatus(e.status));
      throw e;
    }
    return this.forward(call, sink, grant, startedAt);
  }

  /** Cancels every call still in flight (drain deadline). */
  abortAll(): void {
    for (const abort of [...this.live]) abort();
  }

  private async admitCall(call: IncomingCall) {
    const { auth, ledger, maxQueueTimeS } = this.deps;
    const state = this.deps.state();
    if (state !== "ready") {
      throw new AppError(503, "not_ready", state === "draining" ? "worker is shutting down" : `worker is ${state}`, undefined, { "retry-after": "5" });
    }
    let json: unknown;
    try {
      json = JSON.parse(utf8.decode(call.body));
    } catch {
      throw new AppError(400, "invalid_json", "the body is not JSON in UTF-8");
    }
    const workerCall = auth.parseCall(json);
    const grant = await auth.authorize(workerCall);
    // Serialised before admission: JSON.parse takes nesting that JSON.stringify cannot (its recursion
    // overflows), and past ledger.start a throw would leave the request's load counted for ever.
    let payload: string;
    try {
      payload = JSON.stringify(workerCall.payload);
    } catch {
      throw new AppError(400, "invalid_payload", "the payload nests too deeply to forward");
    }
    // From here to ledger.start (in forward) nothing awaits: admission sees the load exactly as it is.
    const verdict = admit(ledger.inFlightLoad, grant.cost, this.deps.maxPerf(), maxQueueTimeS);
    if (!verdict.admit) {
      ledger.reject(grant.requestIdx, grant.cost);
      throw new AppError(429, "busy", "worker queue is full; retry elsewhere", undefined, { "retry-after": String(verdict.retryAfterS) });
    }
    if (call.client.gone) throw new AppError(499, "client_closed", "client went away");
    return { ...grant, payload };
  }

  private forward(call: IncomingCall, sink: AnswerSink, grant: Awaited<ReturnType<ModelCalls["admitCall"]>>, startedAt: number): Promise<void> {
    const { ledger, metrics, backend } = this.deps;
    const ticket = ledger.start(grant.requestIdx, grant.cost);
    // Assigned below; dispatch may report an error synchronously (a closed pool), before it returns.
    let abort: () => void = () => undefined;
    let settled = false;
    const settle = (outcome: Outcome, metric: CallOutcome) => {
      if (settled) return;
      settled = true;
      this.live.delete(abort);
      ledger.finish(ticket, outcome);
      metrics.count(metric);
      metrics.observe((performance.now() - startedAt) / 1000);
    };

    return new Promise<void>((resolve, reject) => {
      let started = false;
      let ok = false;
      /** Set when the model server answered 5xx: its body is read and dropped, never echoed. */
      let discarding = false;
      abort = backend.stream(
        { path: backendPath(call.url), body: grant.payload, accept: call.accept },
        {
          onHeaders: (status, headers, resume) => {
            if (status >= 500) {
              discarding = true;
              const unavailable = status === 503;
              settle("failed", unavailable ? "backend_unavailable" : "backend_error");
              reject(
                unavailable
                  ? new AppError(503, "backend_unavailable", "the model server is not available", status, { "retry-after": "1" })
                  : new AppError(502, "backend_error", `the model server failed (status ${status})`, status),
              );
              return;
            }
            started = true;
            ok = status < 400;
            sink.onDrain(resume);
            sink.start(status, headers);
            resolve();
          },
          onData: (chunk) => discarding || sink.write(chunk),
          onComplete: () => {
            if (discarding) return;
            sink.end();
            settle(ok ? "served" : "failed", ok ? "ok" : "backend_client_error");
          },
          onError: (err) => {
            const cancelled = err instanceof CallAborted;
            if (discarding) return;
            if (started) {
              // Mid-answer: the client left (we aborted), or the model server broke the stream.
              sink.abort();
              settle(cancelled ? "cancelled" : "failed", cancelled ? "cancelled" : "backend_error");
              return;
            }
            if (cancelled) {
              settle("cancelled", "cancelled");
              reject(new AppError(499, "client_closed", "client went away"));
              return;
            }
            const e = backendFailure(err);
            settle("failed", e.status === 504 ? "backend_timeout" : "backend_error");
            reject(e);
          },
        },
      );
      this.live.add(abort);
      call.client.onGone(abort);
    });
  }
}
