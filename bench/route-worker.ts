// The router, plus one bench-only route: a bare round trip to an endpoint's Durable Object,
// so /route/ can be compared with the cost the object adds anyway. Never deployed.
import { Hono } from "hono";
import router from "../router-worker/src/index.ts";

export { EndpointObject } from "../router-worker/src/index.ts";

const app = new Hono<{ Bindings: Env }>()
  .get("/bench/hello", (c) => c.text("hello"))
  .post("/bench/do/:name", async (c) => {
    await c.req.json();
    return c.json({ seq: await c.env.ENDPOINTS.getByName(c.req.param("name")).ping() });
  })
  .all("*", (c) => router.fetch(c.req.raw, c.env, c.executionCtx));

export default app;
