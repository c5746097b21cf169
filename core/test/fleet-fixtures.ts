// Builders for scaling-policy tests: an endpoint, its groups, a load picture and instances, with
// every field explicit and defaults that describe a quiet, active endpoint.
import { ENDPOINT_DEFAULTS, type EndpointParams } from "../endpoint.ts";
import type { InstanceView } from "../fleet.ts";
import type { EndpointPlanInput, GroupPolicy, LoadPicture } from "../scaling-policy.ts";
import { LOAD_BUCKET_MS, type LoadBucket } from "../snapshot.ts";
import type { VastOffer } from "../vast-api.ts";

export const NOW = 1_700_000_000_000;

export function params(over: Partial<EndpointParams> = {}): EndpointParams {
  return { ...ENDPOINT_DEFAULTS, ...over };
}

export function group(over: Partial<GroupPolicy> = {}): GroupPolicy {
  return { id: 1, name: "default", cold_workers: null, max_workers: null, perf: {}, loadTimesS: [], ...over };
}

/** `rate` units/s arriving steadily over the last `seconds`. */
export function steadyLoad(rate: number, seconds = 600, now = NOW): LoadBucket[] {
  const out: LoadBucket[] = [];
  const first = now - seconds * 1000;
  for (let start = first - (first % LOAD_BUCKET_MS); start < now; start += LOAD_BUCKET_MS) {
    out.push({ start, arrived: rate * (LOAD_BUCKET_MS / 1000), requests: 1, served: 0, rejected: 0, held_peak: 0 });
  }
  return out;
}

export function load(rate: number, over: Partial<LoadPicture> = {}): LoadPicture {
  return {
    buckets: rate > 0 ? steadyLoad(rate) : [],
    waitingRequests: 0,
    waitingWorkload: 0,
    lastRequestAt: rate > 0 ? NOW - 1000 : null,
    ...over,
  };
}

let seq = 0;
export function inst(state: InstanceView["state"], over: Partial<InstanceView> = {}): InstanceView {
  seq++;
  return {
    id: `w${String(seq).padStart(4, "0")}`,
    groupId: 1,
    vastId: 1000 + seq,
    state,
    since: NOW - 60_000,
    gpuName: "RTX 4090",
    dph: 0.4,
    perf: state === "ready" || state === "stopped" || state === "stopping" ? 100 : null,
    load: 0,
    startFailures: 0,
    lastStartFailureAt: null,
    ...over,
  };
}

export function offer(id: number, gpu_name = "RTX 4090", dph_total = 0.4, gpu_ram = 24564): VastOffer {
  return { id, gpu_name, dph_total, gpu_ram, num_gpus: 1, machine_id: id, reliability: 0.99, dlperf: 50 };
}

export function input(over: Partial<EndpointPlanInput> = {}): EndpointPlanInput {
  return {
    now: NOW,
    endpoint: "ep",
    params: params(),
    deleted: false,
    groups: [group({ perf: { "RTX 4090": 100 } })],
    load: load(0),
    instances: [],
    offers: new Map([[1, [offer(1), offer(2), offer(3), offer(4), offer(5), offer(6), offer(7), offer(8)]]]),
    ...over,
  };
}

export function kinds(actions: readonly { kind: string }[]): string {
  return actions.map((a) => a.kind).sort().join(",");
}
