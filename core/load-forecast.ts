// How much load an endpoint must be ready for, from its recent history: pure, with an explicit `now`.
// A short window reacts to a burst within one bucket; a long window makes capacity shrink slowly
// after the burst ends; work waiting at the edge adds what it takes to drain it in target_queue_time.
import { LOAD_BUCKET_MS, type LoadBucket } from "./snapshot.ts";

export interface ForecastWindows {
  /** Seconds of the short window (bursts). */
  shortS: number;
  /** Seconds of the long window (slow shrink). */
  longS: number;
}

export const DEFAULT_WINDOWS: ForecastWindows = { shortS: 30, longS: 600 };

export interface LoadForecast {
  /** Demand over the short window, workload units/s. */
  short: number;
  /** Demand over the long window, workload units/s. */
  long: number;
  /** Workload waiting at the edge ÷ target_queue_time, units/s. */
  backlog: number;
  /** max(short, long) + backlog: the load capacity is sized for. */
  predicted: number;
}

/**
 * Demand of one bucket. Arrivals are counted once per request (re-polls never add), but a client
 * that bypasses the router or gives up and re-sends still shows in what workers served or rejected.
 */
export function bucketDemand(b: LoadBucket): number {
  return Math.max(b.arrived, b.served + b.rejected);
}

/**
 * Mean demand over [now − windowS, now], units/s. A bucket partly inside the window counts in
 * proportion; the bucket in progress covers only [start, now]. Missing buckets are silent periods.
 */
export function demandRate(buckets: readonly LoadBucket[], now: number, windowS: number): number {
  if (windowS <= 0) return 0;
  const from = now - windowS * 1000;
  let work = 0;
  // Buckets are oldest first: walk back from the newest and stop once they end before the window.
  for (let i = buckets.length - 1; i >= 0; i--) {
    const b = buckets[i]!;
    const end = Math.min(b.start + LOAD_BUCKET_MS, now);
    if (end <= from) break;
    if (b.start >= now) continue;
    const span = end - b.start;
    if (span <= 0) continue;
    const inside = end - Math.max(b.start, from);
    work += bucketDemand(b) * (inside / span);
  }
  return work / windowS;
}

export function forecastLoad(
  buckets: readonly LoadBucket[],
  waitingWorkload: number,
  now: number,
  targetQueueTimeS: number,
  windows: ForecastWindows = DEFAULT_WINDOWS,
): LoadForecast {
  const short = demandRate(buckets, now, windows.shortS);
  const long = demandRate(buckets, now, windows.longS);
  const backlog = Math.max(0, waitingWorkload) / Math.max(1, targetQueueTimeS);
  return { short, long, backlog, predicted: Math.max(short, long) + backlog };
}
