// What `GET /api/v1/endpoints/:name/workergroups/:group/metrics` answers: the figures a user compares
// hardware and rollouts with. The endpoint's object computes the traffic part from its last hour of
// history; the admin API adds the cost part from the scaler's ledger.
import { z } from "zod";

const num = z.number();

/** The traffic part, from the endpoint's object (`groupMetrics`). */
export const GroupTraffic = z.object({
  /** Seconds of history the figures cover (up to an hour; less after the object restarted). */
  window_s: num,
  /** Requests routed to the group's workers (overflow and spills included). */
  requests: num,
  workload_routed: num,
  /** Workload its workers reported served. */
  workload_served: num,
  /** Workload whose share-weighted draw fell on this group: its demand before spills. */
  demand_workload: num,
  /** The group's part of all requests routed to any group of the endpoint. */
  realised_share: num.nullable(),
  /** Expected wait in the worker's queue when routed, (cur_load + pending + cost) ÷ max_perf, p50 and p99. */
  queue_wait_p50_s: num.nullable(),
  queue_wait_p99_s: num.nullable(),
  /** Median measured capacity of its ready workers, per GPU type (workload units/s). */
  max_perf_by_gpu: z.record(z.string(), num),
  workers: num,
});
export type GroupTraffic = z.infer<typeof GroupTraffic>;

export const GroupMetrics = GroupTraffic.extend({
  endpoint: z.string(),
  group: z.string(),
  traffic_share: num,
  role: z.enum(["primary", "overflow"]),
  /** Σ $/h of the group's billed instances now. */
  dph_now: num,
  /** Workload served per dollar over the window, at the window's $/h (null while nothing is billed). */
  workload_per_dollar: num.nullable(),
});
export type GroupMetrics = z.infer<typeof GroupMetrics>;
