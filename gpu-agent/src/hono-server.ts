// The Hono front end, kept selectable (HTTP_STACK=hono) so bench:agent can measure it against the
// node:http one in every run. Same call path, same answers; Web streams in between.
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Server } from "node:http";
import { errorAnswer, notFound, tooLarge, type AgentSurface } from "./http-surface.ts";

function ignoreClosed(f: () => void): void {
  try {
    f();
  } catch {
    // already closed or cancelled
  }
}

export function createHonoServer(surface: AgentSurface): Server {
  const app = new Hono()
    .get("/health", (c) => {
      const h = surface.health();
      return c.json(h.body, h.status as 200);
    })
    .get("/metrics", (c) => c.text(surface.metrics(), 200, { "content-type": "text/plain; version=0.0.4" }))
    // Counts a chunked body as it streams in: reading it whole first would let a client that never
    // ends its body fill the agent's memory before the size check ran.
    .post("*", bodyLimit({ maxSize: surface.maxBodyBytes, onError: () => { throw tooLarge(surface.maxBodyBytes); } }), async (c) => {
      const body = Buffer.from(await c.req.arrayBuffer());
      const url = new URL(c.req.url);
      // A Web stream fed by the call path's sink; its pull() is the upstream's resume.
      let controller!: ReadableStreamDefaultController<Uint8Array>;
      let drain: () => void = () => undefined;
      const stream = new ReadableStream<Uint8Array>({
        start: (ctrl) => {
          controller = ctrl;
        },
        pull: () => drain(),
      });
      let head: { status: number; headers: Record<string, string> } = { status: 200, headers: {} };
      await surface.calls.handle(
        {
          url: url.pathname + url.search,
          body,
          accept: c.req.header("accept"),
          // @hono/node-server aborts the request's signal when the client connection closes early.
          client: {
            get gone() {
              return c.req.raw.signal.aborted;
            },
            onGone: (cb) => (c.req.raw.signal.aborted ? cb() : c.req.raw.signal.addEventListener("abort", cb, { once: true })),
          },
        },
        {
          start: (status, headers) => (head = { status, headers }),
          // The server cancels the stream when the client leaves; a chunk already on its way then
          // finds the controller closed (the call path is aborting the upstream meanwhile).
          write: (chunk) => {
            try {
              controller.enqueue(chunk);
            } catch {
              return true;
            }
            return (controller.desiredSize ?? 0) > 0;
          },
          onDrain: (cb) => (drain = cb),
          end: () => ignoreClosed(() => controller.close()),
          abort: () => ignoreClosed(() => controller.error(new Error("the model server broke the answer"))),
        },
      );
      return new Response(stream, { status: head.status, headers: head.headers });
    });
  const render = (e: unknown) => {
    const a = errorAnswer(e);
    return new Response(a.body, { status: a.status, headers: a.headers });
  };
  app.notFound(() => render(notFound()));
  app.onError(render);
  return createAdaptorServer({ fetch: app.fetch, serverOptions: { keepAliveTimeout: 65_000 } }) as Server;
}
