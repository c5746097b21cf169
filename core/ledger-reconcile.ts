// The instance ledger against the world, pure: which ledger row is which Vast instance, what a crash
// or a lost answer left half-done (adopt, close, re-send, destroy as orphan), and what state each
// instance is in once Vast's view and its agent's reports (the router's snapshot) are combined.
// Protocol: docs/scaler.md, "Ledger".
import type { InstanceState, InstanceView } from "./fleet.ts";
import type { WorkerSnapshot } from "./snapshot.ts";
import { workerIdFromLabel, type VastInstance } from "./vast-api.ts";

/**
 * Our intent for an instance, written to D1 before each Vast call:
 * creating (row written, create sent or about to be), running, stopped, destroying.
 */
export type LedgerStatus = "creating" | "running" | "stopped" | "destroying";

export interface LedgerEntry {
  id: string;
  endpointId: number;
  groupId: number | null;
  status: LedgerStatus;
  vastId: number | null;
  createdAt: number;
  /** When the current intent was written (creation, or the last start or stop). */
  stateSince: number;
  gpuName: string | null;
  dph: number | null;
  perf: number | null;
  /** First time it was seen ready (null: never loaded). */
  readyAt: number | null;
  startFailures: number;
  lastStartFailureAt: number | null;
}

export interface ReconcileTimings {
  /** A `creating` row whose instance has not appeared this long after the row was written is closed. */
  createGraceMs: number;
  /** An instance missing from the list this long after its intent was written is gone. */
  goneGraceMs: number;
}

export interface Reconciliation {
  /** Ledger id → its instance in this list (null: not listed). */
  matched: Map<string, VastInstance | null>;
  /** Rows whose create answer was lost: the labelled instance exists, record its id. */
  adopt: { id: string; vastId: number }[];
  /** Rows whose instance is gone (or never came): close them. */
  close: { id: string; reason: string }[];
  /** Intents Vast does not reflect yet: send them again (idempotent calls). */
  resend: { id: string; vastId: number; kind: "start" | "stop" | "destroy" }[];
  /** Instances carrying our label that no open row owns: destroy them. */
  orphans: { vastId: number; label: string; reason: string }[];
}

const RUNNING_LIKE = new Set(["running", "loading"]);

/**
 * Matches open ledger rows to the account's instance list. The list must have been fetched *before*
 * the rows were read: every create writes its row first, so any instance the list shows already
 * has its row, and an instance with our label but no open row is an orphan, never a race.
 * Pass `orphans: false` when only some of the account's rows were read.
 */
export function reconcile(
  entries: readonly LedgerEntry[],
  instances: readonly VastInstance[],
  labelPrefix: string,
  listedAt: number,
  timings: ReconcileTimings,
  options: { orphans: boolean } = { orphans: true },
): Reconciliation {
  const byVastId = new Map<number, VastInstance>();
  const byLabel = new Map<string, VastInstance[]>();
  for (const inst of instances) {
    byVastId.set(inst.id, inst);
    const id = workerIdFromLabel(labelPrefix, inst.label);
    if (id === null) continue;
    const list = byLabel.get(id);
    if (list) list.push(inst);
    else byLabel.set(id, [inst]);
  }
  const out: Reconciliation = { matched: new Map(), adopt: [], close: [], resend: [], orphans: [] };
  const owned = new Set<number>();

  for (const e of entries) {
    let inst: VastInstance | null = null;
    if (e.vastId !== null) inst = byVastId.get(e.vastId) ?? null;
    else if (e.status === "creating" || e.status === "destroying") inst = byLabel.get(e.id)?.[0] ?? null;

    if (inst && e.vastId === null) {
      if (e.status === "creating") out.adopt.push({ id: e.id, vastId: inst.id });
    }
    if (inst) {
      owned.add(inst.id);
      out.matched.set(e.id, inst);
      const intended = inst.intended_status ?? null;
      if (e.status === "destroying") out.resend.push({ id: e.id, vastId: inst.id, kind: "destroy" });
      else if (e.status === "stopped" && (intended === "running" || (RUNNING_LIKE.has(inst.actual_status ?? "") && intended !== "stopped"))) {
        out.resend.push({ id: e.id, vastId: inst.id, kind: "stop" });
      } else if (e.status === "running" && intended === "stopped") out.resend.push({ id: e.id, vastId: inst.id, kind: "start" });
      continue;
    }
    out.matched.set(e.id, null);
    if (e.status === "destroying") out.close.push({ id: e.id, reason: "destroyed" });
    else if (e.status === "creating" && e.vastId === null) {
      if (listedAt - e.createdAt > timings.createGraceMs) out.close.push({ id: e.id, reason: "create never took effect" });
    } else if (listedAt - e.stateSince > timings.goneGraceMs) out.close.push({ id: e.id, reason: "instance gone from Vast" });
  }

  if (options.orphans) {
    for (const inst of instances) {
      if (owned.has(inst.id)) continue;
      const id = workerIdFromLabel(labelPrefix, inst.label);
      if (id === null) continue;
      const owner = entries.find((e) => e.id === id);
      const reason = owner ? `duplicate of ${owner.vastId ?? "a pending create"} for ${id}` : `label ${id} has no open ledger row`;
      out.orphans.push({ vastId: inst.id, label: inst.label ?? "", reason });
    }
  }
  return out;
}

export interface ViewOptions {
  /** An agent that reported in this run and then went silent this long is broken. */
  silentErrorS: number;
}

const BROKEN = new Set(["exited", "offline"]);

/** One instance's state for the policy, from our intent, Vast's state and its agent's reports. */
export function instanceView(e: LedgerEntry, inst: VastInstance | null, worker: WorkerSnapshot | undefined, now: number, opts: ViewOptions): InstanceView {
  const reportedAt = worker ? now - worker.last_report_age_s * 1000 : null;
  /** A report from before the current intent belongs to an earlier run (before a stop). */
  const thisRun = reportedAt !== null && reportedAt >= e.stateSince;
  const notReady: InstanceState = e.readyAt !== null ? "starting" : "loading";
  let state: InstanceState;
  let detail: string | undefined;
  let perf = e.perf;
  let load = 0;

  if (e.status === "destroying") state = "destroying";
  else if (e.status === "creating" && !inst) state = "creating";
  else if (e.status === "stopped") state = inst && RUNNING_LIKE.has(inst.actual_status ?? "") ? "stopping" : "stopped";
  else if (inst && BROKEN.has(inst.actual_status ?? "")) {
    state = "error";
    detail = `Vast says ${inst.actual_status}${inst.status_msg ? ` (${inst.status_msg.slice(0, 200)})` : ""}`;
  } else if (thisRun && worker?.phase === "error") {
    state = "error";
    detail = `agent error: ${worker.error_msg.slice(0, 200)}`;
  } else if (thisRun && worker?.phase === "draining" && !worker.drained) {
    // The agent drains on its own (SIGTERM: someone else is stopping the box). It takes no new work
    // and is on its way to stopped, model on disk: not capacity, and the cold walk decides its fate.
    state = "stopping";
    detail = "the agent is draining on its own (shutting down)";
  } else if (thisRun && worker && worker.max_perf > 0 && (worker.phase === "ready" || worker.phase === "stale" || worker.phase === "draining")) {
    // "draining" here is the scaler's own drain (setDrain): ready, finishing its work, leaving once idle.
    if (worker.phase === "stale" && worker.last_report_age_s > opts.silentErrorS) {
      state = "error";
      detail = `agent silent for ${Math.round(worker.last_report_age_s)} s`;
    } else {
      state = "ready";
      perf = worker.max_perf;
      load = worker.cur_load + worker.pending_load;
    }
  } else state = e.status === "creating" ? "loading" : notReady;

  return {
    id: e.id,
    groupId: e.groupId ?? -1,
    vastId: e.vastId ?? inst?.id ?? null,
    state,
    since: state === "loading" || state === "creating" ? e.createdAt : e.stateSince,
    gpuName: inst?.gpu_name ?? e.gpuName ?? worker?.gpu_name ?? null,
    dph: inst?.dph_total ?? e.dph ?? 0,
    perf,
    load,
    startFailures: e.startFailures,
    lastStartFailureAt: e.lastStartFailureAt,
    // The router's drain flag outlives a stop (a start clears it), so it is carried in every state.
    ...(worker?.drained ? { drained: true } : {}),
    ...(detail ? { detail } : {}),
    ...(inst?.machine_id != null ? { machineId: inst.machine_id } : {}),
  };
}
