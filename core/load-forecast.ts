// How much load an endpoint must be ready for, from its recent history: pure, with an explicit `now`.
// A short window reacts to a burst within one bucket; a long window makes capacity shrink slowly
// after the burst ends; a burst floor keeps enough capacity to absorb the largest recent burst
// within the wait target; work waiting at the edge adds what it takes to drain it once new capacity
// can have arrived (a boot), not faster than target_queue_time.
import { LOAD_BUCKET_MS, type LoadBucket } from "./snapshot.ts";

export interface ForecastWindows {
  /** Seconds of the short window (bursts). */
  shortS: number;
  /** Seconds of the long window (slow shrink). */
  longS: number;
  /** Seconds of history the burst floor looks back over (0: no floor). */
  burstS: number;
}

export const DEFAULT_WINDOWS: ForecastWindows = { shortS: 30, longS: 600, burstS: 3600 };

export interface LoadForecast {
  /** Demand over the short window, workload units/s. */
  short: number;
  /** Demand over the long window, workload units/s. */
  long: number;
  /** Largest 10-s bucket demand of the burst window ÷ (10 s + target_queue_time), units/s. */
  burst: number;
  /** Workload waiting at the edge ÷ max(target_queue_time, boot time), units/s. */
  backlog: number;
  /** max(max(short, long) + backlog, burst): the load capacity is sized for. */
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
 * Mean demand over [now − windowS, now], units/s: max(arrived, served + rejected), each summed over
 * the window (`perBucket`: the max taken bucket by bucket, then summed, which counts a request
 * twice over when it arrives in one bucket and is served in the next: +16 % on the simulator's
 * Mooncake trace). A bucket partly inside the window counts in proportion; the bucket in progress
 * covers only [start, now]. Missing buckets are silent periods.
 */
export function demandRate(buckets: readonly LoadBucket[], now: number, windowS: number, perBucket = false): number {
  if (windowS <= 0) return 0;
  const from = now - windowS * 1000;
  let work = 0;
  let arrived = 0;
  let handled = 0;
  // Buckets are oldest first: walk back from the newest and stop once they end before the window.
  for (let i = buckets.length - 1; i >= 0; i--) {
    const b = buckets[i]!;
    const end = Math.min(b.start + LOAD_BUCKET_MS, now);
    if (end <= from) break;
    if (b.start >= now) continue;
    const span = end - b.start;
    if (span <= 0) continue;
    const share = (end - Math.max(b.start, from)) / span;
    work += bucketDemand(b) * share;
    arrived += b.arrived * share;
    handled += (b.served + b.rejected) * share;
  }
  return (perBucket ? work : Math.max(arrived, handled)) / windowS;
}

/**
 * The largest workload that arrived in one bucket started within [now − windowS, now], units.
 * Arrivals only: what workers served or rejected in a bucket is no burst of demand (a queue served
 * at once when a cold start ends, or re-sent 429s, would otherwise set the floor for an hour).
 */
export function peakBucketDemand(buckets: readonly LoadBucket[], now: number, windowS: number, handledToo = false): number {
  if (windowS <= 0) return 0;
  const from = now - windowS * 1000;
  let peak = 0;
  for (let i = buckets.length - 1; i >= 0; i--) {
    const b = buckets[i]!;
    if (b.start < from) break;
    if (b.start >= now) continue;
    peak = Math.max(peak, handledToo ? bucketDemand(b) : b.arrived);
  }
  return peak;
}

export interface ForecastOptions {
  targetQueueTimeS: number;
  /** Demand as the max per bucket, summed (how it was measured before; for comparisons). */
  perBucketDemand?: boolean;
  /** The burst floor's peak from max(arrived, served + rejected) per bucket (before; for comparisons). */
  burstFromHandled?: boolean;
  /** Seconds new capacity takes to arrive (the group's median load time); 0: unknown. */
  bootS?: number;
  windows?: ForecastWindows;
}

/**
 * - The burst floor: a burst as large as the largest 10-s bucket of the last hour, arriving at once,
 *   is served within target_queue_time after its bucket: capacity ≥ peak ÷ (10 s + target_queue_time).
 *   Bursty traffic returns (Azure's code trace: 10-s peaks at 12.8× the mean); smooth traffic's peak
 *   bucket is near its mean, and the floor then stays below the long window.
 * - The backlog is planned over a boot: capacity asked for now arrives a boot later, when most of the
 *   queue has been served or has given up. Dividing by target_queue_time alone asked a cold
 *   endpoint's first queue for 238,000 u/s (20 A100s) in the simulator.
 */
export function forecastLoad(buckets: readonly LoadBucket[], waitingWorkload: number, now: number, o: ForecastOptions): LoadForecast {
  const windows = o.windows ?? DEFAULT_WINDOWS;
  const short = demandRate(buckets, now, windows.shortS, o.perBucketDemand);
  const long = demandRate(buckets, now, windows.longS, o.perBucketDemand);
  const burst = peakBucketDemand(buckets, now, windows.burstS, o.burstFromHandled) / (LOAD_BUCKET_MS / 1000 + Math.max(0, o.targetQueueTimeS));
  const backlog = Math.max(0, waitingWorkload) / Math.max(1, o.targetQueueTimeS, o.bootS ?? 0);
  return { short, long, burst, backlog, predicted: Math.max(Math.max(short, long) + backlog, burst) };
}
