// The node:http front end (the default; see docs/agent.md for why): reads the body, hands it to
// the call path, and writes the model server's answer through chunk by chunk as it arrives.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { errorAnswer, notFound, tooLarge, type AgentSurface } from "./http-surface.ts";
import type { AnswerSink } from "./model-call.ts";

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > limit) return reject(tooLarge(limit));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners("data");
        reject(tooLarge(limit));
      } else chunks.push(c);
    });
    req.on("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    // The client left while sending: nobody to answer.
    req.on("aborted", () => resolve(null));
    req.on("error", () => resolve(null));
  });
}

function sendError(res: ServerResponse, e: unknown, close = false): void {
  if (res.headersSent || res.destroyed) return void res.destroy();
  const a = errorAnswer(e);
  res.writeHead(a.status, { ...a.headers, "content-length": Buffer.byteLength(a.body), ...(close ? { connection: "close" } : {}) });
  res.end(a.body);
}

function sendText(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

async function handle(surface: AgentSurface, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? "/";
  if (req.method === "GET") {
    const path = url.split("?", 1)[0];
    if (path === "/health") {
      const h = surface.health();
      return sendText(res, h.status, "application/json", JSON.stringify(h.body));
    }
    if (path === "/metrics") return sendText(res, 200, "text/plain; version=0.0.4", surface.metrics());
  }
  if (req.method !== "POST") return sendError(res, notFound());

  // Registered before anything else listens on `res`, so the upstream call is aborted first.
  // A listener list rather than an AbortController: this runs per request, and it is cheaper.
  let goneCb: (() => void) | null = null;
  const client = {
    gone: false,
    onGone(cb: () => void) {
      // Already gone (it left while the call was being admitted): cancel at once.
      if (client.gone) cb();
      else goneCb = cb;
    },
  };
  res.once("close", () => {
    if (res.writableFinished) return;
    client.gone = true;
    goneCb?.();
  });
  let body: Buffer | null;
  try {
    body = await readBody(req, surface.maxBodyBytes);
  } catch (e) {
    return sendError(res, e, true);
  }
  if (body === null) return;
  const sink: AnswerSink = {
    start: (status, headers) => res.writeHead(status, headers),
    write: (chunk) => res.write(chunk),
    onDrain: (cb) => res.on("drain", cb),
    end: () => res.end(),
    abort: () => res.destroy(),
  };
  try {
    await surface.calls.handle({ url, body, accept: req.headers.accept, client }, sink);
  } catch (e) {
    sendError(res, e);
  }
}

export function createNodeServer(surface: AgentSurface): Server {
  return createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    handle(surface, req, res).catch((e: unknown) => sendError(res, e));
  });
}
