// Vast's `POST /get_endpoint_workers/`: the endpoint's workers, for Vast's SDK and scripts.
// Accepts the endpoint's API key or the admin token (Vast's SDK sends the account key here).
import { and, eq, isNull } from "drizzle-orm";
import { Hono } from "hono";
import { apiKeys, endpoints } from "../../core/db-schema.ts";
import { notFound, unauthorized } from "../../core/app-error.ts";
import { hashSecret, secretsEqual } from "../../core/secret.ts";
import { GetEndpointWorkers } from "../../core/wire.ts";
import { database } from "./endpoint-store.ts";
import { apiKeyOf } from "./route.ts";
import { jsonBody } from "./validation.ts";

export const endpointWorkers = new Hono<{ Bindings: Env }>().post("/get_endpoint_workers/", jsonBody(GetEndpointWorkers), async (c) => {
  const body = c.req.valid("json");
  const key = apiKeyOf(body.api_key, c.req.header("authorization"), c.req.query("api_key"));
  if (!key) throw unauthorized("no api key");
  const db = database(c.env.DB);
  const where = body.endpoint !== undefined ? eq(endpoints.name, body.endpoint) : eq(endpoints.id, body.id ?? -1);
  const [endpoint] = await db.select({ id: endpoints.id, name: endpoints.name }).from(endpoints).where(and(where, isNull(endpoints.deleted_at))).limit(1);
  if (!endpoint) throw notFound("no such endpoint");
  const isAdmin = await secretsEqual(key, c.env.ADMIN_TOKEN);
  if (!isAdmin) {
    const [hit] = await db
      .select({ id: apiKeys.id })
      .from(apiKeys)
      .where(and(eq(apiKeys.key_hash, await hashSecret(key)), eq(apiKeys.endpoint_id, endpoint.id), isNull(apiKeys.revoked_at)))
      .limit(1);
    if (!hit) throw unauthorized("wrong api key");
  }
  const live = await c.env.ENDPOINTS.getByName(endpoint.name).listWorkers();
  // Vast's field names, plus ours (url, phase) for scripts that want them.
  return c.json(
    live.map((w) => ({
      id: w.id,
      status: w.phase === "ready" ? (w.cur_load > 0 ? "busy" : "idle") : w.phase,
      phase: w.phase,
      url: w.url,
      cur_load: w.cur_load,
      measured_perf: w.max_perf,
      perf: w.max_perf,
      loaded_at: w.loadtime,
      last_report_age_s: w.last_report_age_s,
      error_msg: w.error_msg,
    })),
  );
});
