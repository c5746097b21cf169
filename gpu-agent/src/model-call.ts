// The request path, whatever HTTP stack carries it: parse → verify → admit → forward → account.
// The front end hands over the body and a signal that fires when the client goes away; it gets back
// the model server's status, headers and body stream to pipe through, or an AppError to render.
import type { Readable } from "node:stream";
import { AppError } from "../../core/app-error.ts";
import type { AgentState } from "../../core/wire.ts";
import { admit } from "./admission.ts";
import { CallAborted, backendFailure, type Backend } from "./backend.ts";
import type { LoadLedger, Outcome } from "./load-ledger.ts";
import { outcomeOfStatus, type CallOutcome, type Metrics } from "./metrics.ts";
import type { RequestAuth } from "./request-auth.ts";

export interface IncomingCall {
  /** Path and query as received. */
  url: string;
  body: Buffer;
  accept: string | undefined;
  /** Fires when the client disconnects. */
  signal: AbortSignal;
}

export interface Upstream {
  status: number;
  headers: Record<string, string>;
  body: Readable;
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

/** Answer headers worth passing on; hop-by-hop and server-specific ones are not. */
const PASSED_HEADERS = ["content-type", "content-length", "cache-control", "retry-after"];

/** The query minus `api_key`: Vast's SDK puts the endpoint key there, and the model server must not see it. */
export function backendPath(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  params.delete("api_key");
  const rest = params.toString();
  return rest ? `${url.slice(0, q)}?${rest}` : url.slice(0, q);
}

export class ModelCalls {
  /** Every forwarded call's controller, so a drain past its deadline can cancel what is left. */
  private readonly live = new Set<AbortController>();

  constructor(private readonly deps: CallDeps) {}

  async handle(call: IncomingCall): Promise<Upstream> {
    try {
      return await this.run(call, performance.now());
    } catch (e) {
      // Outcomes of forwarded calls are counted when they settle; these are the agent's own answers.
      if (e instanceof AppError && !(e.detail instanceof Settled)) this.deps.metrics.count(outcomeOfStatus(e.status));
      throw e;
    }
  }

  /** Cancels every call still in flight (drain deadline). */
  abortAll(): void {
    for (const c of this.live) c.abort();
  }

  private async run(call: IncomingCall, startedAt: number): Promise<Upstream> {
    const { auth, ledger, backend, metrics, maxQueueTimeS } = this.deps;
    const state = this.deps.state();
    if (state !== "ready") {
      throw new AppError(503, "not_ready", state === "draining" ? "worker is shutting down" : `worker is ${state}`, undefined, { "retry-after": "5" });
    }
    let json: unknown;
    try {
      json = JSON.parse(call.body.toString("utf8"));
    } catch {
      throw new AppError(400, "invalid_json", "the body is not JSON");
    }
    const workerCall = auth.parseCall(json);
    const grant = await auth.authorize(workerCall);
    // From here to ledger.start nothing awaits: admission sees the load exactly as it is.
    const verdict = admit(ledger.inFlightLoad, grant.cost, this.deps.maxPerf(), maxQueueTimeS);
    if (!verdict.admit) {
      ledger.reject(grant.requestIdx, grant.cost);
      throw new AppError(429, "busy", "worker queue is full; retry elsewhere", undefined, { "retry-after": String(verdict.retryAfterS) });
    }
    if (call.signal.aborted) throw new AppError(499, "client_closed", "client went away");
    const ticket = ledger.start(grant.requestIdx, grant.cost);
    const control = new AbortController();
    const onClientGone = () => control.abort();
    call.signal.addEventListener("abort", onClientGone, { once: true });
    this.live.add(control);
    let settled = false;
    const settle = (outcome: Outcome, metric: CallOutcome) => {
      if (settled) return;
      settled = true;
      call.signal.removeEventListener("abort", onClientGone);
      this.live.delete(control);
      ledger.finish(ticket, outcome);
      metrics.count(metric);
      metrics.observe((performance.now() - startedAt) / 1000);
    };

    let res;
    try {
      res = await backend.request({
        path: backendPath(call.url),
        body: JSON.stringify(workerCall.payload),
        accept: call.accept,
        signal: control.signal,
      });
    } catch (e) {
      if (e instanceof CallAborted) {
        settle("cancelled", "cancelled");
        throw new AppError(499, "client_closed", "client went away", new Settled());
      }
      const err = e instanceof AppError ? e : backendFailure(e);
      settle("failed", err.status === 504 ? "backend_timeout" : "backend_error");
      throw new AppError(err.status, err.code, err.message, new Settled(err.detail), err.headers);
    }

    if (res.statusCode >= 500) {
      // Never echo the model server's error text: it may hold paths, stack traces or prompts.
      res.body.resume();
      const unavailable = res.statusCode === 503;
      settle("failed", unavailable ? "backend_unavailable" : "backend_error");
      throw new AppError(
        unavailable ? 503 : 502,
        unavailable ? "backend_unavailable" : "backend_error",
        unavailable ? "the model server is not available" : `the model server failed (status ${res.statusCode})`,
        new Settled(res.statusCode),
        unavailable ? { "retry-after": "1" } : {},
      );
    }
    const headers: Record<string, string> = {};
    for (const name of PASSED_HEADERS) {
      const v = res.headers[name];
      if (typeof v === "string") headers[name] = v;
    }
    const ok = res.statusCode < 400;
    const body = res.body;
    let ended = false;
    body.once("end", () => {
      ended = true;
      settle(ok ? "served" : "failed", ok ? "ok" : "backend_client_error");
    });
    body.once("close", () => {
      // Closed before its end: the client left (we aborted), or the model server broke the stream.
      if (!ended) settle(control.signal.aborted ? "cancelled" : "failed", control.signal.aborted ? "cancelled" : "backend_error");
    });
    return { status: res.statusCode, headers, body };
  }
}

/** Marks an AppError whose outcome the call's settle already counted. */
class Settled {
  constructor(readonly detail?: unknown) {}
}
