// What the scaler's instance ledger (the D1 `workers` rows of kind 'instance') says about cost: $/h
// now and $ spent since 00:00 UTC. The ledger keeps each row's current intent only, so the day's
// billed spans are rebuilt from the scaler's start/stop/destroy events (docs/scaler.md, "Ledger").
import { and, eq, gte, inArray, isNull, or } from "drizzle-orm";
import type { CostSummary, Instance, InstanceStatus } from "../../core/admin-api.ts";
import { events, workerGroups, workers } from "../../core/db-schema.ts";
import type { Db } from "./endpoint-store.ts";

const DAY_MS = 86_400_000;

/** 00:00 UTC of the day `now` falls in. */
export function dayStart(now: number): number {
  return now - (now % DAY_MS);
}

/** A ledger row, open or closed since the start of the window. */
export interface LedgerRow {
  id: string;
  endpoint_id: number;
  vast_instance_id: number | null;
  group: string | null;
  status: string;
  gpu_name: string | null;
  dph_total: number | null;
  perf: number | null;
  created_at: number;
  state_since: number | null;
  ready_at: number | null;
  closed_at: number | null;
  close_reason: string | null;
}

/** The GPU starts (true) or stops (false) being billed for `worker` at `at`. */
export interface BillingChange {
  worker: string;
  at: number;
  billed: boolean;
}

const billedStatus = (status: string) => status !== "stopped" && status !== "closed";

/**
 * $ spent by `rows` in [from, now]. A row is billed from its creation (the row is written just before
 * the create call) to its close, except between a stop and the next start. Its state at `from` is the
 * opposite of its first change after `from`, or, with none, its status now. Pure.
 */
export function spentSince(rows: readonly LedgerRow[], changes: readonly BillingChange[], from: number, now: number): number {
  const byWorker = new Map<string, BillingChange[]>();
  for (const c of changes) {
    if (c.at < from || c.at > now) continue;
    const list = byWorker.get(c.worker);
    if (list) list.push(c);
    else byWorker.set(c.worker, [c]);
  }
  let dollars = 0;
  for (const row of rows) {
    const dph = row.dph_total ?? 0;
    // A create Vast refused rented nothing.
    if (dph <= 0 || row.close_reason?.startsWith("create failed")) continue;
    const end = Math.min(row.closed_at ?? now, now);
    const list = (byWorker.get(row.id) ?? []).sort((a, b) => a.at - b.at);
    let billed: boolean;
    let since: number;
    if (row.created_at >= from) {
      billed = true;
      since = row.created_at;
    } else {
      billed = list[0] ? !list[0].billed : row.closed_at !== null ? true : billedStatus(row.status);
      since = from;
    }
    let ms = 0;
    for (const c of list) {
      if (c.at < since) continue;
      if (billed) ms += Math.min(c.at, end) - since;
      billed = c.billed;
      since = c.at;
    }
    if (billed && end > since) ms += end - since;
    dollars += (dph * Math.max(0, ms)) / 3_600_000;
  }
  return dollars;
}

/** $/h now and spent today of these rows. */
export function costOf(rows: readonly LedgerRow[], changes: readonly BillingChange[], now: number): CostSummary {
  const from = dayStart(now);
  const dph_now = rows.reduce((sum, r) => sum + (r.closed_at === null && billedStatus(r.status) ? (r.dph_total ?? 0) : 0), 0);
  return { dph_now, spent_today: spentSince(rows, changes, from, now), day_start: from, now };
}

const INSTANCE_STATUSES: readonly string[] = ["creating", "running", "stopped", "destroying"];

/** An open ledger row as the admin API shows it. */
export function toInstance(row: LedgerRow): Instance {
  const status = (INSTANCE_STATUSES.includes(row.status) ? row.status : "running") as InstanceStatus;
  return {
    id: row.id,
    vast_instance_id: row.vast_instance_id,
    group: row.group,
    status,
    gpu_name: row.gpu_name,
    dph_total: row.dph_total,
    billed: billedStatus(status),
    perf: row.perf,
    created_at: row.created_at,
    state_since: row.state_since,
    ready_at: row.ready_at,
  };
}

/** Instance rows of these endpoints that are open or were closed at or after `from`. */
export async function readLedger(db: Db, endpointIds: readonly number[], from: number): Promise<LedgerRow[]> {
  if (endpointIds.length === 0) return [];
  return db
    .select({
      id: workers.id,
      endpoint_id: workers.endpoint_id,
      vast_instance_id: workers.vast_instance_id,
      group: workerGroups.name,
      status: workers.status,
      gpu_name: workers.gpu_name,
      dph_total: workers.dph_total,
      perf: workers.perf,
      created_at: workers.created_at,
      state_since: workers.state_since,
      ready_at: workers.ready_at,
      closed_at: workers.closed_at,
      close_reason: workers.close_reason,
    })
    .from(workers)
    .leftJoin(workerGroups, eq(workerGroups.id, workers.group_id))
    .where(
      and(eq(workers.kind, "instance"), inArray(workers.endpoint_id, [...endpointIds]), or(isNull(workers.closed_at), gte(workers.closed_at, from))),
    )
    .orderBy(workers.created_at);
}

/** The scaler's actions that change what is billed, as it records them (with "(repair)" when re-sent). */
const BILLING_ACTIONS: Record<string, boolean> = { start: true, stop: false, destroy: false };

/** Billing changes of these endpoints since `from`, from the scaler's successful start/stop/destroy events. */
export async function readBillingChanges(db: Db, endpointNames: readonly string[], from: number): Promise<BillingChange[]> {
  if (endpointNames.length === 0) return [];
  const actions = Object.keys(BILLING_ACTIONS).flatMap((a) => [a, `${a} (repair)`]);
  const rows = await db
    .select({ at: events.at, action: events.action, detail: events.detail })
    .from(events)
    .where(and(inArray(events.endpoint, [...endpointNames]), gte(events.at, from), eq(events.kind, "scale"), eq(events.outcome, "ok"), inArray(events.action, actions)));
  return rows.flatMap((r) => {
    const worker = r.detail?.worker;
    const billed = BILLING_ACTIONS[r.action.replace(" (repair)", "")];
    return typeof worker === "string" && billed !== undefined ? [{ worker, at: r.at, billed }] : [];
  });
}
