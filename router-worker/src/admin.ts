// The admin API (`/api/v1`, Bearer ADMIN_TOKEN): endpoints, worker groups, keys, worker credentials,
// live workers and events. D1 is written first; the endpoint's Durable Object is then told to reload.
import { Hono, type Context } from "hono";
import { z } from "zod";
import { EndpointCreate, EndpointPatch, WorkerGroupCreate, WorkerGroupPatch } from "../../core/endpoint.ts";
import type { GroupMetrics } from "../../core/group-metrics.ts";
import { notFound } from "../../core/app-error.ts";
import { log } from "../../core/log.ts";
import { EndpointName } from "../../core/wire.ts";
import { adminAuth } from "./admin-auth.ts";
import {
  createEndpoint,
  createGroup,
  createKey,
  createManualWorker,
  database,
  deleteEndpoint,
  deleteGroup,
  groupDphNow,
  listEndpoints,
  listEvents,
  listGroups,
  patchEndpoint,
  patchGroup,
  recordEvent,
  requireEndpoint,
  requireGroup,
  revokeKey,
} from "./endpoint-store.ts";
import { jsonBody, optionalJsonBody, pathParams, queryParams } from "./validation.ts";

type Ctx = Context<{ Bindings: Env }>;

// Exported for the OpenAPI document (openapi.ts), which describes these same schemas.
export const ByName = z.object({ name: EndpointName });
export const ByKey = z.object({ name: EndpointName, id: z.string().min(1).max(64) });
export const ByGroup = z.object({ name: EndpointName, group: EndpointName });
export const WorkerAttach = z.object({ group: EndpointName.optional() }).strict();
export const EventsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.coerce.number().int().min(1).optional(),
});

/** Tells the endpoint's object to re-read D1; if that fails, its cache expires within a minute anyway. */
async function reloadObject(c: Ctx, name: string): Promise<void> {
  try {
    await c.env.ENDPOINTS.getByName(name).reload();
  } catch (e) {
    log("warn", "endpoint object reload failed", { endpoint: name, error: String(e) });
  }
}

async function audit(c: Ctx, endpoint: string, action: string, detail?: Record<string, unknown>): Promise<void> {
  await recordEvent(database(c.env.DB), { endpoint, kind: "admin", action, detail });
}

export const admin = new Hono<{ Bindings: Env }>()
  .use("*", adminAuth)
  .post("/endpoints", jsonBody(EndpointCreate), async (c) => {
    const created = await createEndpoint(database(c.env.DB), c.req.valid("json"));
    await audit(c, created.name, "endpoint.create");
    await reloadObject(c, created.name);
    return c.json(created, 201);
  })
  .get("/endpoints", async (c) => c.json({ endpoints: await listEndpoints(database(c.env.DB)) }))
  .get("/endpoints/:name", pathParams(ByName), async (c) => c.json(await requireEndpoint(database(c.env.DB), c.req.valid("param").name)))
  .patch("/endpoints/:name", pathParams(ByName), jsonBody(EndpointPatch), async (c) => {
    const { name } = c.req.valid("param");
    const patch = c.req.valid("json");
    const updated = await patchEndpoint(database(c.env.DB), name, patch);
    await audit(c, name, "endpoint.update", patch);
    await reloadObject(c, name);
    return c.json(updated);
  })
  .delete("/endpoints/:name", pathParams(ByName), async (c) => {
    const { name } = c.req.valid("param");
    const deleted = await deleteEndpoint(database(c.env.DB), name);
    await audit(c, name, "endpoint.delete");
    await reloadObject(c, name);
    return c.json(deleted);
  })
  .post("/endpoints/:name/workergroups", pathParams(ByName), jsonBody(WorkerGroupCreate), async (c) => {
    const db = database(c.env.DB);
    const endpoint = await requireEndpoint(db, c.req.valid("param").name);
    const group = await createGroup(db, endpoint, c.req.valid("json"));
    await audit(c, endpoint.name, "workergroup.create", { group: group.name });
    return c.json(group, 201);
  })
  .get("/endpoints/:name/workergroups", pathParams(ByName), async (c) => {
    const db = database(c.env.DB);
    const endpoint = await requireEndpoint(db, c.req.valid("param").name);
    return c.json({ workergroups: await listGroups(db, endpoint) });
  })
  .patch("/endpoints/:name/workergroups/:group", pathParams(ByGroup), jsonBody(WorkerGroupPatch), async (c) => {
    const db = database(c.env.DB);
    const { name, group } = c.req.valid("param");
    const patch = c.req.valid("json");
    const endpoint = await requireEndpoint(db, name);
    const updated = await patchGroup(db, endpoint, group, patch);
    await audit(c, endpoint.name, "workergroup.update", { group, ...patch });
    // Shares apply from the next route on.
    await reloadObject(c, endpoint.name);
    return c.json(updated);
  })
  .delete("/endpoints/:name/workergroups/:group", pathParams(ByGroup), async (c) => {
    const db = database(c.env.DB);
    const { name, group } = c.req.valid("param");
    const endpoint = await requireEndpoint(db, name);
    const deleted = await deleteGroup(db, endpoint, group);
    await audit(c, endpoint.name, "workergroup.delete", { group });
    await reloadObject(c, endpoint.name);
    return c.json(deleted);
  })
  .get("/endpoints/:name/workergroups/:group/metrics", pathParams(ByGroup), async (c) => {
    const db = database(c.env.DB);
    const { name, group } = c.req.valid("param");
    const endpoint = await requireEndpoint(db, name);
    const g = await requireGroup(db, endpoint, group);
    const [traffic, dph] = await Promise.all([c.env.ENDPOINTS.getByName(endpoint.name).groupMetrics(String(g.id)), groupDphNow(db, g.id)]);
    const hours = traffic.window_s / 3600;
    const answer: GroupMetrics = {
      ...traffic,
      endpoint: endpoint.name,
      group: g.name,
      traffic_share: g.traffic_share,
      role: g.role,
      dph_now: dph,
      workload_per_dollar: dph > 0 && hours > 0 ? traffic.workload_served / (dph * hours) : null,
    };
    return c.json(answer);
  })
  .post("/endpoints/:name/keys", pathParams(ByName), async (c) => {
    const db = database(c.env.DB);
    const endpoint = await requireEndpoint(db, c.req.valid("param").name);
    const key = await createKey(db, endpoint);
    await audit(c, endpoint.name, "key.create", { key_id: key.id });
    await reloadObject(c, endpoint.name);
    return c.json(key, 201);
  })
  .delete("/endpoints/:name/keys/:id", pathParams(ByKey), async (c) => {
    const db = database(c.env.DB);
    const { name, id } = c.req.valid("param");
    const endpoint = await requireEndpoint(db, name);
    await revokeKey(db, endpoint, id);
    await audit(c, endpoint.name, "key.revoke", { key_id: id });
    await reloadObject(c, endpoint.name);
    return c.json({ id, revoked: true });
  })
  .post("/endpoints/:name/workers", pathParams(ByName), optionalJsonBody(WorkerAttach), async (c) => {
    const db = database(c.env.DB);
    const endpoint = await requireEndpoint(db, c.req.valid("param").name);
    const body = c.req.valid("json");
    const groups = await listGroups(db, endpoint);
    const group = body.group === undefined ? (groups[0] ?? null) : groups.find((g) => g.name === body.group);
    if (group === undefined) throw notFound(`no worker group named '${body.group}' on endpoint '${endpoint.name}'`);
    const worker = await createManualWorker(db, endpoint, group?.id ?? null);
    await audit(c, endpoint.name, "worker.attach", { worker: worker.id, group: group?.name ?? null });
    return c.json({ ...worker, endpoint: endpoint.name, group: group?.name ?? null }, 201);
  })
  .get("/endpoints/:name/workers", pathParams(ByName), async (c) => {
    const endpoint = await requireEndpoint(database(c.env.DB), c.req.valid("param").name);
    return c.json({ workers: await c.env.ENDPOINTS.getByName(endpoint.name).listWorkers() });
  })
  .get("/endpoints/:name/events", pathParams(ByName), queryParams(EventsQuery), async (c) => {
    const db = database(c.env.DB);
    const endpoint = await requireEndpoint(db, c.req.valid("param").name);
    const { limit, before } = c.req.valid("query");
    return c.json({ events: await listEvents(db, endpoint.name, limit, before) });
  });
