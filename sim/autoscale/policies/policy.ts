// The policy interface every scaling policy in the simulator implements: the production policy's
// adapter and the baselines alike. A policy sees what the scaler Worker sees (endpoint parameters,
// the router's snapshot, its instance ledger, the offers it may rent) and answers with actions the
// simulator applies to the marketplace. Pure with respect to the simulation: no clock, no I/O.
import type { EndpointParams } from "../../../core/endpoint.ts";
import type { EndpointSnapshot } from "../../../core/snapshot.ts";
import type { InstanceState } from "../marketplace.ts";

export interface InstanceView {
  id: string;
  gpu_name: string;
  state: Exclude<InstanceState, "destroyed">;
  /** ms since epoch when the current state began. */
  since: number;
  created_at: number;
  /** $/h of the GPU while billed. */
  dph: number;
  /** Workload units/s a worker of this type sustains on this endpoint's traffic. */
  expected_perf: number;
  /** The model is on disk: a stopped instance restarts in seconds. */
  loaded: boolean;
  /** The router no longer sends it new requests (it finishes what it has). */
  draining: boolean;
}

/** One rentable GPU type (what a Vast offer search filtered by the worker group returns, cheapest first per type). */
export interface Offer {
  gpu_name: string;
  gpu_ram_gb: number;
  dph: number;
  storage_dph: number;
  /** Workload units/s on this endpoint's traffic, as measured by past workers of this type. */
  expected_perf: number;
}

/**
 * Exact arrivals, for the baselines whose own metric pipeline is finer than the snapshot's 10-s
 * buckets (Knative scrapes every 2 s, SkyServe counts per request). The production adapter does not
 * use it: the scaler only has the snapshot.
 */
export interface Observed {
  /** Workload and requests that arrived in the last `ms` (whole seconds, at most one hour). */
  arrived(ms: number): { workload: number; requests: number };
}

export interface ScalingContext {
  now: number;
  params: EndpointParams;
  snapshot: EndpointSnapshot;
  instances: readonly InstanceView[];
  offers: readonly Offer[];
  observed: Observed;
}

/**
 * `drain` asks the router to stop sending a ready worker new requests (a graceful scale-down: it is
 * released once idle); `undrain` puts it back in rotation. Both are router calls, not Vast calls.
 */
export type ScalingAction =
  | { kind: "create"; gpu_name: string; reason?: string }
  | { kind: "start" | "stop" | "destroy" | "drain" | "undrain"; id: string; reason?: string };

export type Trigger = "tick" | "scale-now";

export interface ScalingPolicy {
  readonly name: string;
  /** "edge": the router holds requests and calls scale-now (our design); "poll": clients poll, no holding. */
  readonly clients: "edge" | "poll";
  /** Period of the policy's own decision loop, ms (60 s: the cron). */
  readonly tickMs: number;
  /** Whether the router's scale-now calls reach this policy. */
  readonly scaleNow: boolean;
  decide(ctx: ScalingContext, trigger: Trigger): ScalingAction[];
  /**
   * A restart failed (`resources_unavailable`). Policies that track it are told and asked again at
   * once; for the others the simulator falls back to a fresh create of the same type.
   */
  startFailed?(id: string, now: number): void;
}

/** The cheapest offer per unit of work (what every baseline rents, so that they differ only in scaling). */
export function bestPerfPerDollar(offers: readonly Offer[]): Offer {
  let best: Offer | undefined;
  for (const o of offers) if (!best || o.expected_perf / o.dph > best.expected_perf / best.dph) best = o;
  if (!best) throw new Error("no offers");
  return best;
}
