// The router, plus two bench-only routes composed exactly like /route/ (same body limit, same error
// handler, one Hono app): a bare hello and a bare round trip to an endpoint's Durable Object, so
// /route/ can be compared with the cost the object adds anyway. Never deployed.
// The body limit runs on the measured routes only: every other path goes to the router untouched,
// which applies its own (a body read here could not be read again there).
import { Hono } from "hono";
import router from "../router-worker/src/index.ts";
import { onError } from "../router-worker/src/errors.ts";
import { route } from "../router-worker/src/route.ts";
import { limitBodies } from "../router-worker/src/validation.ts";

export { EndpointObject } from "../router-worker/src/index.ts";

const app = new Hono<{ Bindings: Env }>()
  .use("/bench/*", limitBodies)
  .use("/route/", limitBodies)
  .get("/bench/hello", (c) => c.text("hello"))
  .post("/bench/do/:name", async (c) => {
    await c.req.json();
    return c.json({ seq: await c.env.ENDPOINTS.getByName(c.req.param("name")).ping() });
  })
  .route("/", route)
  .all("*", (c) => router.fetch(c.req.raw, c.env, c.executionCtx));
app.onError(onError);

export default app;
