// The production scaling policy in the simulator: the same `planEndpoint` the scaler Worker runs
// every minute and on the router's scale-now calls, imported from core/ and never copied. This
// adapter plays scaler-worker/src/tick.ts and fleet-picture.ts around it: it keeps the instance
// ledger (our intent, first-ready times, restart failures), reads the router's snapshot, turns
// ledger + Vast's view + agent reports into the policy's instance views with core's own
// `instanceView`, learns per-GPU perf and load times at the tick that first sees a worker ready,
// lists the market's offers, and maps the plan back to marketplace calls. A refused restart is
// recorded and the policy asked again at once, as the Worker's fallBack() does. Settings: core's
// DEFAULT_SCALING, which is what the Worker's config defaults produce.
import { recordLoadTime } from "../../../core/load-deadline.ts";
import { instanceView, type LedgerEntry } from "../../../core/ledger-reconcile.ts";
import { learnPerf, type PerfBook } from "../../../core/placement.ts";
import { planEndpoint, type EndpointPlanInput, type Plan, type ScalingSettings } from "../../../core/scaling-policy.ts";
import type { VastInstance, VastOffer } from "../../../core/vast-api.ts";
import type { InstanceView, ScalingAction, ScalingContext, ScalingPolicy } from "./policy.ts";

const GROUP_ID = 1;
/** Offers listed per GPU type per search (the market has more; a plan rarely rents this many at once). */
const OFFERS_PER_TYPE = 24;
/** The Worker's SILENT_ERROR_S default (reports come every second here, so it never fires). */
const SILENT_ERROR_S = 180;

interface Ledger {
  vastId: number;
  status: LedgerEntry["status"];
  stateSince: number;
  perf: number | null;
  readyAt: number | null;
  startFailures: number;
  lastStartFailureAt: number | null;
}

/**
 * Changes to what the scaler feeds the policy or does with its plan: how prototypes of policy changes
 * are measured against the production policy without copying it (ours-next.ts). Absent: production.
 */
export interface PlanTweaks {
  input?(input: EndpointPlanInput, ctx: ScalingContext): EndpointPlanInput;
  /** Gets the plan mapped to actions; returns the actions to apply. */
  after?(plan: Plan, input: EndpointPlanInput, ctx: ScalingContext, actions: ScalingAction[]): ScalingAction[];
}

export interface OursOptions {
  name?: string;
  settings?: ScalingSettings;
  /** Per-GPU perf known before the first worker (e.g. from the same model on other endpoints). */
  perfBook?: PerfBook;
  tweaks?: PlanTweaks;
}

export interface OursPolicy extends ScalingPolicy {
  /** A restart answered `resources_unavailable`: the scaler records it in the ledger. */
  startFailed(id: string, now: number): void;
}

export function ours(options: OursOptions = {}): OursPolicy {
  const ledger = new Map<string, Ledger>();
  let book: PerfBook = options.perfBook ?? {};
  let loadTimesS: number[] = [];
  let nextVastId = 1;

  /** The ledger row for a sim instance, created the first time the scaler sees it. */
  function rowOf(v: InstanceView): Ledger {
    let row = ledger.get(v.id);
    if (!row) {
      row = { vastId: nextVastId++, status: "running", stateSince: v.created_at, perf: null, readyAt: null, startFailures: 0, lastStartFailureAt: null };
      ledger.set(v.id, row);
    }
    return row;
  }

  /** What `GET /instances/` would say of it. */
  function vastOf(v: InstanceView, row: Ledger): VastInstance {
    const actual = v.state === "creating" ? null : v.state === "loading" || v.state === "starting" ? "loading" : v.state === "ready" ? "running" : "stopped";
    return { id: row.vastId, label: `sim-${v.id}`, actual_status: actual, intended_status: row.status === "stopped" ? "stopped" : "running", gpu_name: v.gpu_name, dph_total: v.dph };
  }

  function offersOf(ctx: ScalingContext): VastOffer[] {
    const out: VastOffer[] = [];
    ctx.offers.forEach((o, t) => {
      for (let k = 0; k < OFFERS_PER_TYPE; k++) {
        const id = 100_000 * (t + 1) + k;
        out.push({ id, machine_id: id, gpu_name: o.gpu_name, num_gpus: 1, gpu_ram: o.gpu_ram_gb * 1024, dph_total: o.dph + o.storage_dph, reliability: 0.99, dlperf: null });
      }
    });
    return out;
  }

  return {
    name: options.name ?? "ours",
    clients: "edge",
    tickMs: 60_000,
    scaleNow: true,
    startFailed(id, now) {
      const row = ledger.get(id);
      if (!row) return;
      row.startFailures++;
      row.lastStartFailureAt = now;
      row.status = "stopped";
    },
    decide(ctx) {
      const { now, snapshot } = ctx;
      const workers = new Map(snapshot.workers.map((w) => [w.id, w]));
      // What the scaler learns from each snapshot: perf per GPU type, first-ready times.
      book = learnPerf(book, snapshot.workers.filter((w) => w.phase === "ready"));
      const views = [];
      for (const v of ctx.instances) {
        const row = rowOf(v);
        const w = workers.get(v.id);
        if (v.state === "ready" && w && w.max_perf > 0) {
          row.perf = w.max_perf;
          if (row.readyAt === null) {
            row.readyAt = now;
            loadTimesS = recordLoadTime(loadTimesS, (now - v.created_at) / 1000);
          }
        }
        const entry: LedgerEntry = { id: v.id, endpointId: 1, groupId: GROUP_ID, createdAt: v.created_at, gpuName: v.gpu_name, dph: v.dph, ...row };
        views.push(instanceView(entry, vastOf(v, row), w, now, { silentErrorS: SILENT_ERROR_S }));
      }
      let input: EndpointPlanInput = {
        now,
        endpoint: snapshot.endpoint,
        params: ctx.params,
        deleted: false,
        groups: [{ id: GROUP_ID, name: "default", cold_workers: null, max_workers: null, perf: book, loadTimesS }],
        load: { buckets: snapshot.buckets, waitingRequests: snapshot.waiting.requests, waitingWorkload: snapshot.waiting.workload, lastRequestAt: snapshot.last_request_at },
        instances: views,
        offers: new Map([[GROUP_ID, offersOf(ctx)]]),
        settings: options.settings,
      };
      if (options.tweaks?.input) input = options.tweaks.input(input, ctx);
      const plan = planEndpoint(input);
      const actions: ScalingAction[] = [];
      for (const a of plan.actions) {
        if (a.kind === "create") {
          actions.push({ kind: "create", gpu_name: a.gpuName, reason: a.reason });
          continue;
        }
        const row = ledger.get(a.instanceId);
        if (row && a.kind !== "destroy") {
          row.status = a.kind === "start" ? "running" : "stopped";
          row.stateSince = now;
        }
        if (a.kind === "destroy") ledger.delete(a.instanceId);
        actions.push({ kind: a.kind, id: a.instanceId, reason: a.reason });
      }
      return options.tweaks?.after ? options.tweaks.after(plan, input, ctx, actions) : actions;
    },
  };
}
