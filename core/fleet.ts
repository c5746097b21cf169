// An endpoint's fleet as the scaling policy sees it: one view per rented instance, the actions the
// policy can take on it, and a model of what an action does (used to check that a plan applied
// once leaves nothing to do, and by the autoscaling simulator to advance its world). Pure.
import type { VastOffer } from "./vast-api.ts";

/**
 * - creating: the ledger holds the intent; Vast has not (yet) shown the instance.
 * - loading: rented, image or model loading, not yet benchmarked by its agent.
 * - starting: restarted from stopped, agent not yet reporting ready again.
 * - ready: its agent reports ready with a measured max_perf.
 * - stopping / stopped: asked to stop; stopped = cold (model on disk, no GPU billed).
 * - error: Vast or the agent says it is broken.
 * - destroying: asked to go; counted against limits until Vast confirms.
 */
export type InstanceState = "creating" | "loading" | "starting" | "ready" | "stopping" | "stopped" | "error" | "destroying";

export interface InstanceView {
  /** Our worker id (ledger row id; also in the instance label). */
  id: string;
  groupId: number;
  vastId: number | null;
  state: InstanceState;
  /** ms since epoch when the current intent began (creation, or the last start). */
  since: number;
  gpuName: string | null;
  /** $/h while billed. */
  dph: number;
  /** Measured max_perf: now if ready, else when last ready; null if never benchmarked. */
  perf: number | null;
  /** Workload in flight (ready workers). */
  load: number;
  startFailures: number;
  lastStartFailureAt: number | null;
  /**
   * The router routes nothing to it at the scaler's request (`drain`): it finishes what it holds and
   * is released once idle. Only meaningful while ready; a start clears it.
   */
  drained?: boolean;
  /** Why it is in error, for the event log. */
  detail?: string;
  /** Vast's machine: its offers are this instance's GPU, never to be rented beside it. */
  machineId?: number | null;
}

export const HOT_STATES: ReadonlySet<InstanceState> = new Set(["creating", "loading", "starting", "ready"]);
export const COLD_STATES: ReadonlySet<InstanceState> = new Set(["stopping", "stopped"]);

export const isHot = (v: InstanceView) => HOT_STATES.has(v.state);
export const isCold = (v: InstanceView) => COLD_STATES.has(v.state);
/** The GPU is paid for in every state but stopped. */
export const isBilled = (v: InstanceView) => v.state !== "stopped";
/** Ready and drained: it takes no new requests and leaves once idle. */
export const isDrained = (v: InstanceView) => v.state === "ready" && v.drained === true;

export type Action =
  | {
      kind: "create";
      groupId: number;
      offerId: number;
      gpuName: string;
      dph: number;
      /** Expected max_perf (null: unknown, a probe). */
      perf: number | null;
      reason: string;
    }
  | { kind: "start" | "stop" | "destroy"; instanceId: string; groupId: number; reason: string }
  /**
   * Router calls, not Vast calls: `drain` stops routing new requests to a ready worker (its fleet
   * without it covers the target; it is released once idle), `undrain` routes to it again.
   */
  | { kind: "drain" | "undrain"; instanceId: string; groupId: number; reason: string };

export type ActionKind = Action["kind"];

export interface FleetWorld {
  instances: InstanceView[];
  /** Offers still available, per group. */
  offers: ReadonlyMap<number, readonly VastOffer[]>;
}

/**
 * The immediate effect of actions, as the next decision would see it if Vast did what was asked:
 * a create becomes a `creating` instance and consumes its offer (in every group that saw it), a start
 * makes the instance `starting` (and clears a drain the router still holds), a stop `stopped`, a
 * destroy removes it, a drain or undrain sets or clears `drained`. `newId` names created
 * instances (the simulator and tests choose ids; the scaler mints them).
 */
export function applyActions(world: FleetWorld, actions: readonly Action[], now: number, newId: (i: number) => string): FleetWorld {
  const byId = new Map(world.instances.map((v) => [v.id, { ...v }]));
  const taken = new Set<number>();
  let created = 0;
  for (const a of actions) {
    if (a.kind === "create") {
      taken.add(a.offerId);
      const id = newId(created++);
      byId.set(id, {
        id,
        groupId: a.groupId,
        vastId: null,
        state: "creating",
        since: now,
        gpuName: a.gpuName,
        dph: a.dph,
        perf: null,
        load: 0,
        startFailures: 0,
        lastStartFailureAt: null,
      });
      continue;
    }
    const v = byId.get(a.instanceId);
    if (!v) continue;
    if (a.kind === "destroy") byId.delete(a.instanceId);
    else if (a.kind === "start") Object.assign(v, { state: "starting", since: now, load: 0, drained: false });
    else if (a.kind === "stop") Object.assign(v, { state: "stopped", load: 0 });
    else v.drained = a.kind === "drain";
  }
  const offers = new Map<number, VastOffer[]>();
  for (const [g, list] of world.offers) offers.set(g, list.filter((o) => !taken.has(o.id)));
  return { instances: [...byId.values()], offers };
}
