// One request's life through the simulated platform: client → edge router → worker → done.
// All times are simulated ms since epoch; NaN until the moment happens.
import type { TraceRequest } from "./trace.ts";

export interface SimRequest {
  readonly idx: number;
  readonly trace: TraceRequest;
  readonly cost: number;
  /** Arrival at the client (the trace's timestamp). */
  readonly at: number;
  /** Counted in the results (arrived inside the measured window, not during warm-up). */
  readonly measured: boolean;
  /** Worker attempts so far (the SDK's `total_attempts`, for its retry backoff). */
  tries: number;
  /** Route calls in the current routing cycle (the SDK's poll `attempt`). */
  polls: number;
  /** Last /route/ call (the router's `touched`). */
  touched: number;
  /** Bumped whenever a scheduled callback for this request must be ignored (hold expiry, abort). */
  gen: number;
  /** The router worker whose `pending_load` still counts this request, if any. */
  pendingOn: string | null;
  /** Worker currently holding the request (queued or in a slot). */
  workerId: string | null;
  /** The current attempt got a slot at / will emit its first token at (cleared on abort). */
  admittedAt: number;
  firstTokenAt: number;
  doneAt: number;
  /** The client gave up (no worker within its timeout). */
  failed: boolean;
  /** The request waited at the edge with no ready worker at least once (met a cold start). */
  metColdStart: boolean;
}

export function newRequest(idx: number, trace: TraceRequest, at: number, measured: boolean): SimRequest {
  return {
    idx,
    trace,
    cost: trace.input + trace.output,
    at,
    measured,
    tries: 0,
    polls: 0,
    touched: at,
    gen: 0,
    pendingOn: null,
    workerId: null,
    admittedAt: NaN,
    firstTokenAt: NaN,
    doneAt: NaN,
    failed: false,
    metColdStart: false,
  };
}
