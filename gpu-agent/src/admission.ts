// Admission by workload (PROTOCOL.md §2): refuse when the work ahead of a request, in seconds of
// measured capacity, would exceed `max_queue_time`. Pure.

export type Admission = { admit: true } | { admit: false; retryAfterS: number };

/**
 * `loadAhead` is the workload queued and in flight here. An idle worker always admits, as the
 * router always considers it eligible: otherwise a request costlier than
 * `maxQueueTimeS × maxPerf` could never be served anywhere.
 */
export function admit(loadAhead: number, cost: number, maxPerf: number, maxQueueTimeS: number): Admission {
  if (loadAhead <= 0) return { admit: true };
  if (!(maxPerf > 0)) return { admit: false, retryAfterS: 1 };
  const wait = (loadAhead + cost) / maxPerf;
  if (wait <= maxQueueTimeS) return { admit: true };
  // The time for enough of the work ahead to drain that this request would fit, in whole seconds.
  return { admit: false, retryAfterS: Math.max(1, Math.ceil(wait - maxQueueTimeS)) };
}
