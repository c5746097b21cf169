// D1 for the scaler (drizzle): one batch reads everything a tick needs and takes the leases; writes
// are built as statements and sent in batches, so D1 round trips per tick stay constant however many
// endpoints and workers there are. D1 allows 100 bound parameters per statement: lists are chunked.
import { and, eq, inArray, isNull, sql, type SQL } from "drizzle-orm";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import type { BatchItem } from "drizzle-orm/batch";
import { endpoints, events, gpuPerf, groupLoadTimes, scalerLeases, workerGroups, workers } from "../../core/db-schema.ts";
import { ENDPOINT_DEFAULTS, type EndpointParams } from "../../core/endpoint.ts";
import type { LedgerEntry, LedgerStatus } from "../../core/ledger-reconcile.ts";

export type Db = DrizzleD1Database;
export type Statement = BatchItem<"sqlite">;
/** The D1 binding, named through drizzle so Node code (the benchmark) can pass Miniflare's. */
export type D1 = Parameters<typeof drizzle>[0];

export function database(d1: D1): Db {
  return drizzle(d1);
}

/** Largest id list in one `IN (...)` (D1: 100 bound parameters per statement). */
const IDS_PER_STATEMENT = 90;

export function chunk<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

export interface EndpointRow {
  id: number;
  name: string;
  params: EndpointParams;
  deleted: boolean;
}

export interface GroupRow {
  id: number;
  endpointId: number;
  name: string;
  templateHash: string | null;
  image: string | null;
  launchArgs: string | null;
  env: Record<string, string>;
  searchParams: Record<string, Record<string, unknown>>;
  gpuRam: number | null;
  disk: number;
  coldWorkers: number | null;
  maxWorkers: number | null;
  trafficShare: number;
  role: "primary" | "overflow";
  /** Soft-deleted (the router drains it): its instances are released, none is added. */
  deleted: boolean;
}

export interface TickRead {
  /** Endpoints whose lease this tick now holds. */
  leased: Set<number>;
  endpoints: EndpointRow[];
  groups: GroupRow[];
  /** Open instance rows (account-wide for a cron tick, one endpoint's for scale-now). */
  entries: LedgerEntry[];
  perf: Map<number, Record<string, number>>;
  loadTimes: Map<number, number[]>;
}

export type Scope = { kind: "all" } | { kind: "endpoint"; name: string };

/** Live endpoints, plus deleted ones that still have open instance rows to release. */
function scopeSql(scope: Scope): SQL {
  return scope.kind === "all"
    ? sql`(deleted_at IS NULL OR id IN (SELECT endpoint_id FROM workers WHERE kind = 'instance' AND closed_at IS NULL))`
    : sql`(name = ${scope.name} AND deleted_at IS NULL)`;
}

/** Takes the lease of every endpoint in scope that nobody holds (or whose lease expired). */
export function acquireLeases(db: Db, scope: Scope, holder: string, now: number, ttlMs: number) {
  // INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE expired RETURNING: the rows returned are the
  // leases taken; a live lease held by another pass is left alone. One statement for any number.
  return db
    .insert(scalerLeases)
    .select(
      db
        .select({ endpoint_id: endpoints.id, holder: sql<string>`${holder}`.as("holder"), expires_at: sql<number>`${now + ttlMs}`.as("expires_at") })
        .from(endpoints)
        .where(scopeSql(scope)),
    )
    .onConflictDoUpdate({
      target: scalerLeases.endpoint_id,
      set: { holder: sql`excluded.holder`, expires_at: sql`excluded.expires_at` },
      setWhere: sql`${scalerLeases.expires_at} <= ${now}`,
    })
    .returning({ endpoint_id: scalerLeases.endpoint_id });
}

export function releaseLeases(db: Db, holder: string): Statement {
  return db.delete(scalerLeases).where(eq(scalerLeases.holder, holder));
}

function toEntry(r: typeof workers.$inferSelect): LedgerEntry {
  return {
    id: r.id,
    endpointId: r.endpoint_id,
    groupId: r.group_id,
    status: (["creating", "running", "stopped", "destroying"].includes(r.status) ? r.status : "running") as LedgerStatus,
    vastId: r.vast_instance_id,
    createdAt: r.created_at,
    stateSince: r.state_since ?? r.created_at,
    gpuName: r.gpu_name,
    dph: r.dph_total,
    perf: r.perf,
    readyAt: r.ready_at,
    startFailures: r.start_failures,
    lastStartFailureAt: r.last_start_failure_at,
  };
}

function paramsOf(row: typeof endpoints.$inferSelect): EndpointParams {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(ENDPOINT_DEFAULTS)) out[key] = row[key as keyof typeof row];
  return out as EndpointParams;
}

/**
 * One round trip: leases, endpoints, groups, open ledger rows, learned perf and load times.
 * Call it only after the Vast instance list was fetched (see reconcile() for why).
 */
export async function readTick(
  db: Db,
  scope: Scope,
  holder: string,
  now: number,
  ttlMs: number,
  opts: { acquire: boolean; endpointOnly?: number | undefined },
): Promise<TickRead> {
  const openRows = and(eq(workers.kind, "instance"), isNull(workers.closed_at));
  const endpointOnly = opts.endpointOnly;
  const [leases, eps, groups, rows, perf, loads] = await db.batch([
    // A scale-now pass took its one lease already; reading the same statement keeps the batch's shape.
    opts.acquire
      ? acquireLeases(db, scope, holder, now, ttlMs)
      : db.select({ endpoint_id: scalerLeases.endpoint_id }).from(scalerLeases).where(eq(scalerLeases.holder, holder)),
    db.select().from(endpoints).where(scopeSql(scope)),
    db.select().from(workerGroups),
    db.select().from(workers).where(endpointOnly === undefined ? openRows : and(openRows, eq(workers.endpoint_id, endpointOnly))),
    db.select().from(gpuPerf),
    db.select().from(groupLoadTimes),
  ]);
  const perfMap = new Map<number, Record<string, number>>();
  for (const p of perf) (perfMap.get(p.group_id) ?? perfMap.set(p.group_id, {}).get(p.group_id)!)[p.gpu_name] = p.perf;
  return {
    leased: new Set(leases.map((l) => l.endpoint_id)),
    endpoints: eps.map((e) => ({ id: e.id, name: e.name, params: paramsOf(e), deleted: e.deleted_at !== null })),
    groups: groups.map((g) => ({
      id: g.id,
      endpointId: g.endpoint_id,
      name: g.name,
      templateHash: g.template_hash,
      image: g.image,
      launchArgs: g.launch_args,
      env: g.env,
      searchParams: g.search_params,
      gpuRam: g.gpu_ram,
      disk: g.disk,
      coldWorkers: g.cold_workers,
      maxWorkers: g.max_workers,
      trafficShare: g.traffic_share,
      role: g.role,
      deleted: g.deleted_at !== null,
    })),
    entries: rows.map(toEntry),
    perf: perfMap,
    loadTimes: new Map(loads.map((l) => [l.group_id, l.seconds])),
  };
}

/** The endpoint id for a scale-now call, with its lease taken (null: unknown, or someone holds it). */
export async function leaseOne(db: Db, name: string, holder: string, now: number, ttlMs: number): Promise<number | null> {
  const rows = await acquireLeases(db, { kind: "endpoint", name }, holder, now, ttlMs);
  return rows[0]?.endpoint_id ?? null;
}

// ---------------------------------------------------------------- writes (statements for a batch)

export interface NewInstanceRow {
  id: string;
  endpointId: number;
  groupId: number;
  mtokenHash: string;
  offerId: number;
  gpuName: string;
  dph: number;
}

export function insertIntents(db: Db, rows: readonly NewInstanceRow[], now: number): Statement[] {
  // 14 columns a row: 7 rows keep a statement under 100 parameters.
  return chunk(rows, 7).map((part) =>
    db.insert(workers).values(
      part.map((r) => ({
        id: r.id,
        endpoint_id: r.endpointId,
        group_id: r.groupId,
        kind: "instance" as const,
        mtoken_hash: r.mtokenHash,
        status: "creating",
        offer_id: r.offerId,
        gpu_name: r.gpuName,
        dph_total: r.dph,
        state_since: now,
        created_at: now,
        updated_at: now,
        start_failures: 0,
      })),
    ),
  );
}

export function setStatus(db: Db, ids: readonly string[], status: LedgerStatus, now: number): Statement[] {
  return chunk(ids, IDS_PER_STATEMENT).map((part) =>
    db.update(workers).set({ status, state_since: now, updated_at: now }).where(inArray(workers.id, part)),
  );
}

export function closeRows(db: Db, ids: readonly string[], reason: string, now: number): Statement[] {
  return chunk(ids, IDS_PER_STATEMENT).map((part) =>
    db.update(workers).set({ status: "closed", closed_at: now, close_reason: reason, updated_at: now }).where(and(inArray(workers.id, part), isNull(workers.closed_at))),
  );
}

/** The create answered (or the instance was found by its label): record which instance it is. */
export function recordInstance(db: Db, id: string, vastId: number, now: number): Statement {
  return db.update(workers).set({ vast_instance_id: vastId, status: "running", updated_at: now }).where(and(eq(workers.id, id), isNull(workers.vast_instance_id)));
}

export function recordStartFailures(db: Db, ids: readonly string[], now: number): Statement[] {
  return chunk(ids, IDS_PER_STATEMENT).map((part) =>
    db
      .update(workers)
      .set({ status: "stopped", state_since: now, updated_at: now, last_start_failure_at: now, start_failures: sql`${workers.start_failures} + 1` })
      .where(inArray(workers.id, part)),
  );
}

/** What was learned about one instance: its measured perf, GPU, and (first time) when it became ready. */
export function recordObservation(db: Db, id: string, o: { perf: number; gpuName: string | null; readyAt: number | null }, now: number): Statement {
  return db
    .update(workers)
    .set({ perf: o.perf, ...(o.gpuName ? { gpu_name: o.gpuName } : {}), ...(o.readyAt !== null ? { ready_at: o.readyAt } : {}), updated_at: now })
    .where(eq(workers.id, id));
}

export function upsertPerf(db: Db, groupId: number, gpuName: string, perf: number, now: number): Statement {
  return db
    .insert(gpuPerf)
    .values({ group_id: groupId, gpu_name: gpuName, perf, updated_at: now })
    .onConflictDoUpdate({ target: [gpuPerf.group_id, gpuPerf.gpu_name], set: { perf, updated_at: now } });
}

export function upsertLoadTimes(db: Db, groupId: number, seconds: number[], now: number): Statement {
  return db
    .insert(groupLoadTimes)
    .values({ group_id: groupId, seconds, updated_at: now })
    .onConflictDoUpdate({ target: groupLoadTimes.group_id, set: { seconds, updated_at: now } });
}

export interface ScaleEvent {
  endpoint: string | null;
  action: string;
  reason: string;
  outcome: string;
  detail?: Record<string, unknown>;
}

export function insertEvents(db: Db, list: readonly ScaleEvent[], now: number): Statement[] {
  // 7 columns an event: 14 events a statement.
  return chunk(list, 14).map((part) =>
    db.insert(events).values(part.map((e) => ({ at: now, endpoint: e.endpoint, kind: "scale", action: e.action, reason: e.reason.slice(0, 1000), outcome: e.outcome, detail: e.detail ?? null }))),
  );
}

/** Sends statements as one batch (one round trip); nothing to send, no trip. */
export async function send(db: Db, statements: readonly Statement[]): Promise<void> {
  if (statements.length === 0) return;
  await db.batch(statements as [Statement, ...Statement[]]);
}
