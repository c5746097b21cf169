// The router's body limit on every route that takes a body (and on a path that is no route), over real
// HTTP to the bundled Worker in Miniflare: a declared length over the limit, a chunked body a little
// over it, and an endless chunked body all get 413 in the route's documented shape, before any
// credential is looked at, and the endless one is cut off near the limit instead of being read whole.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { send, sendEndless } from "../fuzz/body.ts";
import { BODY_LIMIT } from "../fuzz/router-surfaces.ts";
import { startRouterTarget, type RouterTarget } from "../fuzz/targets.ts";

let router: RouterTarget;
beforeAll(async () => {
  router = await startRouterTarget();
}, 120_000);
afterAll(async () => router?.close(), 60_000);

const VastShape = z.object({ error_msg: z.string().min(1) }).strict();
const AdminShape = z.object({ code: z.literal("payload_too_large"), message: z.string().min(1) }).strict();

/** Every route with a body: method, path, whether it is the admin API (its error shape). */
function routes(): [string, string, boolean][] {
  const { endpoint, group } = router.ctx;
  return [
    ["POST", "/route/", false],
    ["POST", "/worker_status/", false],
    ["POST", "/delete_requests/", false],
    ["POST", "/get_endpoint_workers/", false],
    ["POST", "/no-such-route/", false],
    ["POST", "/api/v1/endpoints", true],
    ["PATCH", `/api/v1/endpoints/${endpoint}`, true],
    ["POST", `/api/v1/endpoints/${endpoint}/workergroups`, true],
    ["PATCH", `/api/v1/endpoints/${endpoint}/workergroups/${group}`, true],
    ["POST", `/api/v1/endpoints/${endpoint}/keys`, true],
    ["POST", `/api/v1/endpoints/${endpoint}/workers`, true],
  ];
}

describe("router body limit", () => {
  it("413 on every route with a body, declared or chunked, with or without credentials, and nothing changes", async () => {
    const before = await router.observe();
    const body = new TextEncoder().encode(JSON.stringify({ pad: "x".repeat(BODY_LIMIT) }));
    for (const [method, path, isAdmin] of routes()) {
      for (const chunked of [false, true]) {
        for (const authorization of [`Bearer ${router.ctx.adminToken}`, undefined]) {
          const headers: Record<string, string> = { "content-type": "application/json", ...(authorization ? { authorization } : {}) };
          const res = await send(router.origin, { method, path, headers, body, chunked });
          expect({ method, path, chunked, status: res.status }).toEqual({ method, path, chunked, status: 413 });
          expect((isAdmin ? AdminShape : VastShape).safeParse(JSON.parse(res.text)).success).toBe(true);
        }
      }
    }
    expect(await router.observe()).toEqual(before);
  }, 120_000);

  it("cuts an endless chunked body off near the limit, then serves the next call", async () => {
    const offered = 400 * BODY_LIMIT;
    const out = await sendEndless(router.origin, "/route/", { "content-type": "application/json" }, offered);
    // The 413, or the connection closed after it when the close overtook it on loopback; either way
    // the router stopped reading near the limit.
    if (!out.reset) {
      expect(out.status).toBe(413);
      expect(VastShape.safeParse(JSON.parse(out.text)).success).toBe(true);
    }
    expect(out.sent).toBeLessThan(offered / 4);
    expect((await router.routeOnce()).status).toBe(200);
  }, 120_000);
});
