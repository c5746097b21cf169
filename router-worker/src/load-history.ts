// An endpoint's last hour of load, kept by its Durable Object: 10-s buckets (arrived, served,
// rejected, held, per group), and the expected queue wait at routing per group. The scaler forecasts
// from the buckets; the per-group metrics are computed from both. Each bucket is handed to `onClose`
// once the next one starts (the object stores it, and stores the open one shortly after each change),
// so an eviction or a deploy does not lose the hour the scaler's long window needs; the waits stay in
// memory. A restored bucket that is still current stays open and goes on counting.
import type { GroupTraffic } from "../../core/group-metrics.ts";
import { LOAD_BUCKET_MS, LOAD_HISTORY_BUCKETS, type GroupBucket, type LoadBucket } from "../../core/snapshot.ts";

/** Routing waits kept per group for the metrics' percentiles. */
const WAIT_SAMPLES = 2048;
const HOUR_MS = 3_600_000;

/** A group's worker as the metrics see it. */
export interface GroupMember {
  max_perf: number;
  gpu_name: string | null;
}

export class LoadHistory {
  readonly buckets: LoadBucket[];
  /** Per group, the last WAIT_SAMPLES waits; once full, `next` is the slot the next one overwrites. */
  private readonly waits = new Map<string, { samples: number[]; next: number }>();

  /** `restored`: buckets kept from before (oldest first, the last may still be open); `onClose` gets each bucket once it is final. */
  constructor(
    restored: readonly LoadBucket[] = [],
    private readonly onClose: (bucket: LoadBucket) => void = () => {},
  ) {
    this.buckets = restored.slice(-LOAD_HISTORY_BUCKETS);
  }

  /** The bucket `now` falls in, started (with the hot capacity of that moment) if it is new. */
  at(now: number, hotCapacity: () => number): LoadBucket {
    const start = now - (now % LOAD_BUCKET_MS);
    const last = this.buckets[this.buckets.length - 1];
    if (last && last.start === start) return last;
    if (last) this.onClose(last);
    const fresh: LoadBucket = { start, arrived: 0, requests: 0, served: 0, rejected: 0, held_peak: 0, hot_capacity: hotCapacity() };
    this.buckets.push(fresh);
    if (this.buckets.length > LOAD_HISTORY_BUCKETS) this.buckets.shift();
    return fresh;
  }

  /** The bucket's share for `group`, created on first use. */
  static group(bucket: LoadBucket, group: string): GroupBucket {
    bucket.by_group ??= {};
    return (bucket.by_group[group] ??= { arrived: 0, requests: 0, routed: 0, routed_workload: 0, served: 0 });
  }

  /** Expected queue wait at routing, per group: the last WAIT_SAMPLES, for p50/p99 in the metrics. */
  recordWait(group: string, wait: number): void {
    let ring = this.waits.get(group);
    if (!ring) this.waits.set(group, (ring = { samples: [], next: 0 }));
    // A ring, not push + splice: this runs on every routed request, and the splice moved the whole
    // window of 2,048 samples each time.
    if (ring.samples.length < WAIT_SAMPLES) {
      ring.samples.push(wait);
    } else {
      ring.samples[ring.next] = wait;
      ring.next = (ring.next + 1) % WAIT_SAMPLES;
    }
  }

  /** A group's last hour: what was routed to it and served, its realised share, waits, capacity per GPU. */
  groupTraffic(group: string, members: readonly GroupMember[], now: number): GroupTraffic {
    let routed = 0;
    let routedWorkload = 0;
    let served = 0;
    let arrived = 0;
    let allRouted = 0;
    for (const b of this.buckets) {
      if (b.start < now - HOUR_MS) continue;
      for (const [key, g] of Object.entries(b.by_group ?? {})) {
        allRouted += g.routed;
        if (key !== group) continue;
        routed += g.routed;
        routedWorkload += g.routed_workload;
        served += g.served;
        arrived += g.arrived;
      }
    }
    const waits = [...(this.waits.get(group)?.samples ?? [])].sort((a, b) => a - b);
    const at = (q: number) => (waits.length ? waits[Math.min(waits.length - 1, Math.ceil(q * waits.length) - 1)]! : null);
    const perfByGpu: Record<string, number[]> = {};
    for (const w of members) if (w.max_perf > 0) (perfByGpu[w.gpu_name ?? "unknown"] ??= []).push(w.max_perf);
    return {
      window_s: Math.min(HOUR_MS / 1000, this.buckets.length * (LOAD_BUCKET_MS / 1000)),
      requests: routed,
      workload_routed: routedWorkload,
      workload_served: served,
      demand_workload: arrived,
      realised_share: allRouted > 0 ? routed / allRouted : null,
      queue_wait_p50_s: at(0.5),
      queue_wait_p99_s: at(0.99),
      max_perf_by_gpu: Object.fromEntries(Object.entries(perfByGpu).map(([gpu, xs]) => [gpu, xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!])),
      workers: members.length,
    };
  }
}
