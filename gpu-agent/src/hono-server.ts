// The Hono front end, kept selectable (HTTP_STACK=hono) so bench:agent can measure it against the
// node:http one in every run. Same call path, same answers; Web streams in between.
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import type { Server } from "node:http";
import { Readable } from "node:stream";
import { errorAnswer, notFound, tooLarge, type AgentSurface } from "./http-surface.ts";

export function createHonoServer(surface: AgentSurface): Server {
  const app = new Hono()
    .get("/health", (c) => {
      const h = surface.health();
      return c.json(h.body, h.status as 200);
    })
    .get("/metrics", (c) => c.text(surface.metrics(), 200, { "content-type": "text/plain; version=0.0.4" }))
    .post("*", async (c) => {
      if (Number(c.req.header("content-length") ?? 0) > surface.maxBodyBytes) throw tooLarge(surface.maxBodyBytes);
      const body = Buffer.from(await c.req.arrayBuffer());
      if (body.length > surface.maxBodyBytes) throw tooLarge(surface.maxBodyBytes);
      const url = new URL(c.req.url);
      const up = await surface.calls.handle({
        url: url.pathname + url.search,
        body,
        accept: c.req.header("accept"),
        // @hono/node-server aborts the request's signal when the client connection closes early.
        signal: c.req.raw.signal,
      });
      return new Response(Readable.toWeb(up.body) as ReadableStream, { status: up.status, headers: up.headers });
    });
  const render = (e: unknown) => {
    const a = errorAnswer(e);
    return new Response(a.body, { status: a.status, headers: a.headers });
  };
  app.notFound(() => render(notFound()));
  app.onError(render);
  return createAdaptorServer({ fetch: app.fetch, serverOptions: { keepAliveTimeout: 65_000 } }) as Server;
}
