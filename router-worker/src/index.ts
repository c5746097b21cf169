// Wiring only: the router's routes, its error handling, and the Durable Object class.
import { Hono } from "hono";
import { admin } from "./admin.ts";
import { adminReads } from "./admin-reads.ts";
import { dashboard } from "./dashboard.ts";
import { endpointWorkers } from "./endpoint-workers.ts";
import { notFoundHandler, onError } from "./errors.ts";
import { keys } from "./keys.ts";
import { openApi } from "./openapi.ts";
import { reports } from "./reports.ts";
import { route } from "./route.ts";
import { limitBodies } from "./validation.ts";

export { EndpointObject } from "./endpoint-object.ts";

const app = new Hono<{ Bindings: Env }>()
  .use("*", limitBodies)
  .get("/health", (c) => c.json({ ok: true }))
  .route("/", route)
  .route("/", keys)
  .route("/", reports)
  .route("/", endpointWorkers)
  .route("/", dashboard)
  // The OpenAPI document before admin: it is public, and admin's `*` token check would answer it with 401.
  .route("/api/v1", openApi)
  .route("/api/v1", admin)
  .route("/api/v1", adminReads);

app.onError(onError);
app.notFound(notFoundHandler);

export default app;
