// D1 access for endpoints, groups, keys, worker credentials and events (drizzle).
// D1 is the source of truth; each endpoint's Durable Object caches what routing needs.
import { and, desc, eq, isNull, lt } from "drizzle-orm";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import {
  ENDPOINT_DEFAULTS,
  type Endpoint,
  type EndpointCreate,
  type EndpointParams,
  type EndpointPatch,
  type WorkerGroup,
  type WorkerGroupCreate,
  type WorkerGroupPatch,
} from "../../core/endpoint.ts";
import type { RoutingGroup } from "../../core/group-routing.ts";
import { apiKeys, endpoints, events, workerGroups, workers } from "../../core/db-schema.ts";
import { AppError, notFound } from "../../core/app-error.ts";
import { hashSecret, mintId, mintSecret } from "../../core/secret.ts";

export type Db = DrizzleD1Database;

export function database(d1: D1Database): Db {
  return drizzle(d1);
}

type EndpointRow = typeof endpoints.$inferSelect;

function toEndpoint(row: EndpointRow): Endpoint {
  const { deleted_at: _deleted, ...rest } = row;
  return rest;
}

function paramsOf(row: EndpointRow): EndpointParams {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(ENDPOINT_DEFAULTS)) out[key] = row[key as keyof EndpointRow];
  return out as EndpointParams;
}

const live = (name: string) => and(eq(endpoints.name, name), isNull(endpoints.deleted_at));

export async function findEndpoint(db: Db, name: string): Promise<Endpoint | null> {
  const [row] = await db.select().from(endpoints).where(live(name)).limit(1);
  return row ? toEndpoint(row) : null;
}

export async function requireEndpoint(db: Db, name: string): Promise<Endpoint> {
  const found = await findEndpoint(db, name);
  if (!found) throw notFound(`no endpoint named '${name}'`);
  return found;
}

/** What an endpoint's Durable Object needs to route: its parameters and its live key hashes. */
export interface RoutingConfig {
  id: number;
  name: string;
  params: EndpointParams;
  keyHashes: string[];
  /** Keyed by group id (as a string): names of deleted groups may be reused. Deleted ones are draining. */
  groups: RoutingGroup[];
  /** Group id → name, for metrics. */
  groupNames: Record<string, string>;
}

export async function loadRoutingConfig(db: Db, name: string): Promise<RoutingConfig | null> {
  const rows = await db
    .select({ endpoint: endpoints, key_hash: apiKeys.key_hash })
    .from(endpoints)
    .leftJoin(apiKeys, and(eq(apiKeys.endpoint_id, endpoints.id), isNull(apiKeys.revoked_at)))
    .where(live(name));
  const first = rows[0];
  if (!first) return null;
  const groupRows = await db
    .select({ id: workerGroups.id, name: workerGroups.name, traffic_share: workerGroups.traffic_share, role: workerGroups.role, deleted_at: workerGroups.deleted_at })
    .from(workerGroups)
    .where(eq(workerGroups.endpoint_id, first.endpoint.id))
    .orderBy(workerGroups.id);
  return {
    id: first.endpoint.id,
    name: first.endpoint.name,
    params: paramsOf(first.endpoint),
    keyHashes: rows.flatMap((r) => (r.key_hash ? [r.key_hash] : [])),
    groups: groupRows.map((g) => ({ name: String(g.id), traffic_share: g.traffic_share, role: g.role, draining: g.deleted_at !== null })),
    groupNames: Object.fromEntries(groupRows.map((g) => [String(g.id), g.name])),
  };
}

export async function listEndpoints(db: Db): Promise<Endpoint[]> {
  const rows = await db.select().from(endpoints).where(isNull(endpoints.deleted_at)).orderBy(endpoints.name);
  return rows.map(toEndpoint);
}

function isUniqueViolation(e: unknown): boolean {
  const text = e instanceof Error ? `${e.message} ${String((e as { cause?: unknown }).cause ?? "")}` : String(e);
  return /UNIQUE constraint failed/i.test(text);
}

export async function createEndpoint(db: Db, body: EndpointCreate): Promise<Endpoint> {
  try {
    const [row] = await db.insert(endpoints).values(body).returning();
    if (!row) throw new Error("insert returned nothing");
    return toEndpoint(row);
  } catch (e) {
    if (isUniqueViolation(e)) throw new AppError(409, "conflict", `an endpoint named '${body.name}' exists`);
    throw e;
  }
}

export async function patchEndpoint(db: Db, name: string, patch: EndpointPatch): Promise<Endpoint> {
  const [row] = await db
    .update(endpoints)
    .set({ ...patch, updated_at: Date.now() })
    .where(live(name))
    .returning();
  if (!row) throw notFound(`no endpoint named '${name}'`);
  return toEndpoint(row);
}

/** Soft delete: routing stops at once; the scaler releases the endpoint's instances. */
export async function deleteEndpoint(db: Db, name: string): Promise<Endpoint> {
  const now = Date.now();
  const [row] = await db
    .update(endpoints)
    .set({ deleted_at: now, endpoint_state: "stopped", updated_at: now })
    .where(live(name))
    .returning();
  if (!row) throw notFound(`no endpoint named '${name}'`);
  await db.update(apiKeys).set({ revoked_at: now }).where(and(eq(apiKeys.endpoint_id, row.id), isNull(apiKeys.revoked_at)));
  return toEndpoint(row);
}

type GroupRow = typeof workerGroups.$inferSelect;

function toGroup(row: GroupRow, endpoint: string): WorkerGroup {
  return {
    id: row.id,
    endpoint,
    name: row.name,
    template_hash: row.template_hash,
    image: row.image,
    launch_args: row.launch_args,
    env: row.env,
    search_params: row.search_params,
    gpu_ram: row.gpu_ram,
    disk: row.disk,
    cold_workers: row.cold_workers,
    max_workers: row.max_workers,
    traffic_share: row.traffic_share,
    role: row.role,
    created_at: row.created_at,
  };
}

export async function createGroup(db: Db, endpoint: Endpoint, body: WorkerGroupCreate): Promise<WorkerGroup> {
  try {
    const [row] = await db
      .insert(workerGroups)
      .values({ ...body, endpoint_id: endpoint.id })
      .returning();
    if (!row) throw new Error("insert returned nothing");
    return toGroup(row, endpoint.name);
  } catch (e) {
    if (isUniqueViolation(e)) throw new AppError(409, "conflict", `a worker group named '${body.name}' exists`);
    throw e;
  }
}

export async function listGroups(db: Db, endpoint: Endpoint): Promise<WorkerGroup[]> {
  const rows = await db
    .select()
    .from(workerGroups)
    .where(and(eq(workerGroups.endpoint_id, endpoint.id), isNull(workerGroups.deleted_at)))
    .orderBy(workerGroups.id);
  return rows.map((r) => toGroup(r, endpoint.name));
}

const liveGroup = (endpoint: Endpoint, name: string) =>
  and(eq(workerGroups.endpoint_id, endpoint.id), eq(workerGroups.name, name), isNull(workerGroups.deleted_at));

export async function requireGroup(db: Db, endpoint: Endpoint, name: string): Promise<WorkerGroup> {
  const [row] = await db.select().from(workerGroups).where(liveGroup(endpoint, name)).limit(1);
  if (!row) throw notFound(`no worker group named '${name}' on endpoint '${endpoint.name}'`);
  return toGroup(row, endpoint.name);
}

export async function patchGroup(db: Db, endpoint: Endpoint, name: string, patch: WorkerGroupPatch): Promise<WorkerGroup> {
  const [row] = await db
    .update(workerGroups)
    .set({ ...patch, updated_at: Date.now() })
    .where(liveGroup(endpoint, name))
    .returning();
  if (!row) throw notFound(`no worker group named '${name}' on endpoint '${endpoint.name}'`);
  return toGroup(row, endpoint.name);
}

/** Σ $/h of a group's instances the GPU is billed for now (not stopped, not closed). */
export async function groupDphNow(db: Db, groupId: number): Promise<number> {
  const rows = await db
    .select({ dph: workers.dph_total, status: workers.status })
    .from(workers)
    .where(and(eq(workers.group_id, groupId), eq(workers.kind, "instance"), isNull(workers.closed_at)));
  return rows.reduce((s, r) => s + (r.status === "stopped" ? 0 : (r.dph ?? 0)), 0);
}

/** Soft delete: the router stops routing to the group at once; the scaler drains and releases its instances. */
export async function deleteGroup(db: Db, endpoint: Endpoint, name: string): Promise<WorkerGroup> {
  const now = Date.now();
  const [row] = await db.update(workerGroups).set({ deleted_at: now, updated_at: now }).where(liveGroup(endpoint, name)).returning();
  if (!row) throw notFound(`no worker group named '${name}' on endpoint '${endpoint.name}'`);
  return toGroup(row, endpoint.name);
}

/** Mints an endpoint API key; only its hash is stored. */
export async function createKey(db: Db, endpoint: Endpoint): Promise<{ id: string; api_key: string }> {
  const api_key = mintSecret("ek_");
  const id = mintId("key_");
  await db.insert(apiKeys).values({ id, endpoint_id: endpoint.id, key_hash: await hashSecret(api_key) });
  return { id, api_key };
}

export async function revokeKey(db: Db, endpoint: Endpoint, id: string): Promise<void> {
  const [row] = await db
    .update(apiKeys)
    .set({ revoked_at: Date.now() })
    .where(and(eq(apiKeys.id, id), eq(apiKeys.endpoint_id, endpoint.id), isNull(apiKeys.revoked_at)))
    .returning({ id: apiKeys.id });
  if (!row) throw notFound(`no live key '${id}' on endpoint '${endpoint.name}'`);
}

/** A credential for a box attached by hand; the scaler mints the same for instances it rents. */
export async function createManualWorker(db: Db, endpoint: Endpoint, groupId: number | null): Promise<{ id: string; mtoken: string }> {
  const mtoken = mintSecret("mt_");
  const id = mintId("w_");
  await db.insert(workers).values({
    id,
    endpoint_id: endpoint.id,
    group_id: groupId,
    kind: "manual",
    mtoken_hash: await hashSecret(mtoken),
  });
  return { id, mtoken };
}

export interface WorkerCredential {
  id: string;
  endpoint: string;
  /** The endpoint's row id: a name can be reused after a delete, an id never is. */
  endpoint_id: number;
  mtoken_hash: string;
  /** The worker group's id, or null for a worker attached before the endpoint had groups. */
  group_id: number | null;
}

/**
 * Finds a live worker by our id, or by its Vast instance id (what a stock agent reports as `id`).
 * Closed workers and workers of deleted endpoints have no credential.
 */
export async function findWorkerCredential(db: Db, id: string): Promise<WorkerCredential | null> {
  const instanceId = /^\d{1,15}$/.test(id) ? Number(id) : null;
  const select = db
    .select({ id: workers.id, endpoint: endpoints.name, endpoint_id: workers.endpoint_id, mtoken_hash: workers.mtoken_hash, group_id: workers.group_id })
    .from(workers)
    .innerJoin(endpoints, eq(endpoints.id, workers.endpoint_id));
  const alive = and(isNull(workers.closed_at), isNull(endpoints.deleted_at));
  const [byId] = await select.where(and(eq(workers.id, id), alive)).limit(1);
  if (byId || instanceId === null) return byId ?? null;
  const [byInstance] = await select.where(and(eq(workers.vast_instance_id, instanceId), alive)).limit(1);
  return byInstance ?? null;
}

export interface EventInput {
  endpoint: string | null;
  kind: string;
  action: string;
  reason?: string;
  outcome?: string;
  detail?: Record<string, unknown>;
}

export async function recordEvent(db: Db, e: EventInput): Promise<void> {
  await db.insert(events).values({ ...e, at: Date.now() });
}

export async function listEvents(db: Db, endpoint: string, limit: number, before?: number) {
  return db
    .select()
    .from(events)
    .where(before === undefined ? eq(events.endpoint, endpoint) : and(eq(events.endpoint, endpoint), lt(events.id, before)))
    .orderBy(desc(events.id))
    .limit(limit);
}
