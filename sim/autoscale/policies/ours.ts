// The production scaling policy in the simulator: the same `planEndpoint` the scaler Worker runs
// every minute and on the router's scale-now calls, imported from core/ and never copied. This
// adapter plays scaler-worker/src/tick.ts and fleet-picture.ts around it: it keeps the instance
// ledger (our intent, first-ready times, restart failures), reads the router's snapshot, turns
// ledger + Vast's view + agent reports into the policy's instance views with core's own
// `instanceView`, learns per-GPU perf (from ready views, as fleet-picture does) and load times at
// the pass that first sees a worker ready, seeds the group's book with what other groups running
// the same model measured (`seedPerfBook`), lists the market's offers, and maps the plan back to
// marketplace calls and router calls (drain, undrain; a restart clears the router's drain, as the
// Worker does). A refused restart is recorded and the policy asked again at once, as the Worker's
// fallBack() does. Settings: core's DEFAULT_SCALING, which is what the Worker's config defaults
// produce (scaler-worker/src/config.ts `scalingSettings`).
import { recordLoadTime } from "../../../core/load-deadline.ts";
import { instanceView, type LedgerEntry } from "../../../core/ledger-reconcile.ts";
import { learnPerf, seedPerfBook, type PerfBook } from "../../../core/placement.ts";
import { planEndpoint, type EndpointPlanInput, type Plan, type ScalingSettings } from "../../../core/scaling-policy.ts";
import type { VastInstance, VastOffer } from "../../../core/vast-api.ts";
import type { InstanceView as PolicyView } from "../../../core/fleet.ts";
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

export interface OursOptions {
  name?: string;
  settings?: ScalingSettings;
  /**
   * What other groups running the same model measured per GPU type (the `gpu_perf` rows the Worker
   * reads for every group): the group's book starts from it. Absent: a model nobody ran before.
   */
  sharedBook?: PerfBook;
  /** Sees every plan (what the Worker writes as its decide event): for studies of the policy. */
  onPlan?: (plan: Plan, now: number) => void;
}

export interface OursPolicy extends ScalingPolicy {
  /** A restart answered `resources_unavailable`: the scaler records it in the ledger. */
  startFailed(id: string, now: number): void;
}

export function ours(options: OursOptions = {}): OursPolicy {
  const ledger = new Map<string, Ledger>();
  /** What this group measured itself (its own `gpu_perf` rows). */
  let book: PerfBook = {};
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
      // fleet-picture.ts: views from the ledger as read, then what this pass learned.
      const views: PolicyView[] = [];
      const ready: { gpu_name: string | null; max_perf: number }[] = [];
      for (const v of ctx.instances) {
        const row = rowOf(v);
        const entry: LedgerEntry = { id: v.id, endpointId: 1, groupId: GROUP_ID, createdAt: v.created_at, gpuName: v.gpu_name, dph: v.dph, ...row };
        const view = instanceView(entry, vastOf(v, row), workers.get(v.id), now, { silentErrorS: SILENT_ERROR_S });
        views.push(view);
        if (view.state !== "ready" || view.perf === null) continue;
        ready.push({ gpu_name: view.gpuName, max_perf: view.perf });
        if (row.readyAt === null) {
          row.readyAt = now;
          loadTimesS = recordLoadTime(loadTimesS, (now - v.created_at) / 1000);
        }
        row.perf = view.perf;
      }
      book = learnPerf(book, ready);
      const input: EndpointPlanInput = {
        now,
        endpoint: snapshot.endpoint,
        params: ctx.params,
        deleted: false,
        groups: [{ id: GROUP_ID, name: "default", cold_workers: null, max_workers: null, perf: seedPerfBook(book, options.sharedBook ? [options.sharedBook] : []), loadTimesS }],
        load: { buckets: snapshot.buckets, waitingRequests: snapshot.waiting.requests, waitingWorkload: snapshot.waiting.workload, lastRequestAt: snapshot.last_request_at },
        instances: views,
        offers: new Map([[GROUP_ID, offersOf(ctx)]]),
        settings: options.settings,
      };
      const plan = planEndpoint(input);
      options.onPlan?.(plan, now);
      const actions: ScalingAction[] = [];
      const restarted: ScalingAction[] = [];
      for (const a of plan.actions) {
        if (a.kind === "create") {
          actions.push({ kind: "create", gpu_name: a.gpuName, reason: a.reason });
          continue;
        }
        const row = ledger.get(a.instanceId);
        if (row && (a.kind === "start" || a.kind === "stop")) {
          row.status = a.kind === "start" ? "running" : "stopped";
          row.stateSince = now;
        }
        if (a.kind === "destroy") ledger.delete(a.instanceId);
        actions.push({ kind: a.kind, id: a.instanceId, reason: a.reason });
        // tick.ts: the router keeps a drain across a stop; a restarted worker is routed to again.
        if (a.kind === "start" && views.find((v) => v.id === a.instanceId)?.drained) restarted.push({ kind: "undrain", id: a.instanceId, reason: "restarted" });
      }
      return [...actions, ...restarted];
    },
  };
}
