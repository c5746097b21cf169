// An endpoint's workers as an operator sees them: the live workers the router knows from their reports,
// joined with the instances the scaler rents (its ledger), so a row also exists for an instance that is
// still being created or sits stopped in the cold tier. Shared by the CLI's `workers list` and the
// dashboard, so both say the same thing. Pure.
import type { Instance } from "./admin-api.ts";
import type { WorkerSnapshot } from "./snapshot.ts";

/**
 * The live phase when the worker reports, except that the scaler's intent wins for instances it
 * stopped or is destroying; `creating` (no instance yet) and `booting` (rented, no report yet) for
 * instances that do not report.
 */
export type FleetState = WorkerSnapshot["phase"] | "creating" | "booting" | "stopped" | "destroying";

export interface FleetRow {
  id: string;
  state: FleetState;
  /** Workload in flight: reported plus routed since the last report. */
  load: number;
  /** Measured capacity (units/s): live, or as last measured for a stopped instance; 0 if never measured. */
  capacity: number;
  /** $/h paid now (0 while stopped); null for a box attached by hand. */
  dph: number | null;
  /** Seconds since the last report; null if it never reported. */
  last_report_s: number | null;
  gpu: string | null;
  vast_instance_id: number | null;
  group: string | null;
  worker: WorkerSnapshot | null;
  instance: Instance | null;
}

/** States in the order a fleet comes up: what the CLI's progress line and the dashboard count by. */
export const FLEET_STATES: readonly FleetState[] = ["creating", "booting", "loading", "ready", "draining", "stopped", "stale", "error", "destroying"];

function stateOf(worker: WorkerSnapshot | null, instance: Instance | null): FleetState {
  if (instance?.status === "stopped" || instance?.status === "destroying") return instance.status;
  if (worker) return worker.phase;
  return instance?.status === "creating" ? "creating" : "booting";
}

export function fleetRows(workers: readonly WorkerSnapshot[], instances: readonly Instance[]): FleetRow[] {
  const byId = new Map(instances.map((i) => [i.id, i]));
  const rows: FleetRow[] = workers.map((w) => {
    const inst = byId.get(w.id) ?? null;
    byId.delete(w.id);
    return row(w, inst);
  });
  for (const inst of byId.values()) rows.push(row(null, inst));
  return rows.sort((a, b) => FLEET_STATES.indexOf(a.state) - FLEET_STATES.indexOf(b.state) || a.id.localeCompare(b.id));
}

function row(worker: WorkerSnapshot | null, instance: Instance | null): FleetRow {
  const state = stateOf(worker, instance);
  const live = worker !== null && state !== "stopped";
  return {
    id: worker?.id ?? instance!.id,
    state,
    load: live ? worker.cur_load + worker.pending_load : 0,
    capacity: live && worker.max_perf > 0 ? worker.max_perf : (instance?.perf ?? 0),
    dph: instance ? (instance.billed ? (instance.dph_total ?? 0) : 0) : null,
    last_report_s: worker?.last_report_age_s ?? null,
    gpu: worker?.gpu_name ?? instance?.gpu_name ?? null,
    vast_instance_id: instance?.vast_instance_id ?? null,
    group: instance?.group ?? null,
    worker,
    instance,
  };
}

/** Rows by state, every state present (zeros included), in FLEET_STATES order. */
export function countByState(rows: readonly FleetRow[]): Record<FleetState, number> {
  const out = Object.fromEntries(FLEET_STATES.map((s) => [s, 0])) as Record<FleetState, number>;
  for (const r of rows) out[r.state]++;
  return out;
}
