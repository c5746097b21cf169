// Read routes of the admin API for the CLI and the dashboard: every endpoint at a glance, an
// endpoint's instances with their cost, and its load against capacity over the last hour.
// Read-only: D1 (the scaler's ledger and events) and the endpoint's Durable Object (live workers, load).
import { and, asc, eq, gte } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { MetricsQuery, type EndpointMetrics, type EndpointSummary, type InstanceList, type Overview, type PhaseCounts, type ScalerDecision } from "../../core/admin-api.ts";
import { events } from "../../core/db-schema.ts";
import { LOAD_BUCKET_MS, type EndpointSnapshot, type LoadBucket, type WorkerSnapshot } from "../../core/snapshot.ts";
import { adminAuth } from "./admin-auth.ts";
import { ByName } from "./admin.ts";
import { database, listEndpoints, requireEndpoint, type Db } from "./endpoint-store.ts";
import { costOf, dayStart, readBillingChanges, readLedger, toInstance, type LedgerRow } from "./instance-costs.ts";
import { pathParams, queryParams } from "./validation.ts";

/** Most scaler decisions returned per window (one a minute, plus scale-now passes). */
const MAX_DECISIONS = 1000;
/** A bucket with no report keeps the previous capacity this many buckets (the 30-s stale window). */
const CARRY_BUCKETS = 3;

/** The `decide` event's detail (scaler-worker/src/tick.ts), read leniently: older events may lack fields. */
const DecideDetail = z.object({
  mode: z.string(),
  target: z.number(),
  readyCapacity: z.number(),
  hot: z.number().int(),
  cold: z.number().int(),
  billedDph: z.number(),
  forecast: z.object({ predicted: z.number() }),
});

function phaseCounts(workers: readonly WorkerSnapshot[]): PhaseCounts {
  const counts: PhaseCounts = { loading: 0, ready: 0, draining: 0, error: 0, stale: 0 };
  for (const w of workers) counts[w.phase]++;
  return counts;
}

const readyCapacity = (workers: readonly WorkerSnapshot[]) => workers.reduce((sum, w) => sum + (w.phase === "ready" ? w.max_perf : 0), 0);

/**
 * Every 10-s bucket of the window, oldest first. Buckets exist only where something arrived or
 * reported: a gap has no load, and keeps the last capacity seen while that could still be live.
 */
export function fillBuckets(snapshot: EndpointSnapshot, windowS: number): EndpointMetrics["buckets"] {
  const current = snapshot.now - (snapshot.now % LOAD_BUCKET_MS);
  const count = Math.round((windowS * 1000) / LOAD_BUCKET_MS);
  const byStart = new Map<number, LoadBucket>(snapshot.buckets.map((b) => [b.start, b]));
  const first = current - (count - 1) * LOAD_BUCKET_MS;
  const out: EndpointMetrics["buckets"] = [];
  let capacity = 0;
  let seenAt = -Infinity;
  // Capacity seen before the window, so its first buckets do not start from zero.
  for (const b of snapshot.buckets) {
    if (b.start < first && b.hot_capacity !== undefined) [capacity, seenAt] = [b.hot_capacity, b.start];
  }
  for (let start = first; start <= current; start += LOAD_BUCKET_MS) {
    const b = byStart.get(start);
    if (b?.hot_capacity !== undefined) [capacity, seenAt] = [b.hot_capacity, start];
    const hot_capacity =
      start === current ? readyCapacity(snapshot.workers) : start - seenAt <= CARRY_BUCKETS * LOAD_BUCKET_MS ? capacity : 0;
    out.push({ start, arrived: b?.arrived ?? 0, requests: b?.requests ?? 0, served: b?.served ?? 0, rejected: b?.rejected ?? 0, held_peak: b?.held_peak ?? 0, hot_capacity });
  }
  return out;
}

async function scalerDecisions(db: Db, endpoint: string, from: number): Promise<ScalerDecision[]> {
  const rows = await db
    .select({ at: events.at, detail: events.detail })
    .from(events)
    .where(and(eq(events.endpoint, endpoint), eq(events.action, "decide"), gte(events.at, from)))
    .orderBy(asc(events.at))
    .limit(MAX_DECISIONS);
  return rows.flatMap((r) => {
    const d = DecideDetail.safeParse(r.detail);
    if (!d.success) return [];
    const { mode, target, readyCapacity: ready_capacity, hot, cold, billedDph: billed_dph, forecast } = d.data;
    return [{ at: r.at, mode, predicted: forecast.predicted, target, ready_capacity, hot, cold, billed_dph }];
  });
}

function rowsOf(rows: readonly LedgerRow[], endpointId: number): LedgerRow[] {
  return rows.filter((r) => r.endpoint_id === endpointId);
}

export const adminReads = new Hono<{ Bindings: Env }>()
  .use("*", adminAuth)
  .get("/overview", async (c) => {
    const db = database(c.env.DB);
    const now = Date.now();
    const list = await listEndpoints(db);
    const from = dayStart(now);
    const [ledger, changes, live] = await Promise.all([
      readLedger(db, list.map((e) => e.id), from),
      readBillingChanges(db, list.map((e) => e.name), from),
      Promise.all(list.map((e) => c.env.ENDPOINTS.getByName(e.name).listWorkers())),
    ]);
    const endpoints = list.map((e, i): EndpointSummary => {
      const workers = live[i] ?? [];
      const rows = rowsOf(ledger, e.id);
      return {
        name: e.name,
        endpoint_state: e.endpoint_state,
        workers: phaseCounts(workers),
        hot_capacity: readyCapacity(workers),
        cold_capacity: rows.reduce((sum, r) => sum + (r.closed_at === null && r.status === "stopped" ? (r.perf ?? 0) : 0), 0),
        load: workers.reduce((sum, w) => sum + w.cur_load + w.pending_load, 0),
        cost: costOf(rows, changes, now),
      };
    });
    return c.json({ now, endpoints } satisfies Overview);
  })
  .get("/endpoints/:name/instances", pathParams(ByName), async (c) => {
    const db = database(c.env.DB);
    const endpoint = await requireEndpoint(db, c.req.valid("param").name);
    const now = Date.now();
    const from = dayStart(now);
    const [rows, changes] = await Promise.all([readLedger(db, [endpoint.id], from), readBillingChanges(db, [endpoint.name], from)]);
    const instances = rows.filter((r) => r.closed_at === null).map(toInstance);
    return c.json({ instances, cost: costOf(rows, changes, now) } satisfies InstanceList);
  })
  .get("/endpoints/:name/metrics", pathParams(ByName), queryParams(MetricsQuery), async (c) => {
    const db = database(c.env.DB);
    const endpoint = await requireEndpoint(db, c.req.valid("param").name);
    const { window_s } = c.req.valid("query");
    const snapshot = await c.env.ENDPOINTS.getByName(endpoint.name).snapshot();
    const metrics: EndpointMetrics = {
      endpoint: endpoint.name,
      now: snapshot.now,
      bucket_ms: LOAD_BUCKET_MS,
      buckets: fillBuckets(snapshot, window_s),
      waiting: snapshot.waiting,
      last_request_at: snapshot.last_request_at,
      scaler: await scalerDecisions(db, endpoint.name, snapshot.now - window_s * 1000),
    };
    return c.json(metrics);
  });
