// The node:http front end (the default; see docs/agent.md for why): reads the body, hands it to
// the call path, pipes the model server's answer through chunk by chunk.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { pipeline } from "node:stream";
import { errorAnswer, notFound, tooLarge, type AgentSurface } from "./http-surface.ts";

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
  const gone = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) gone.abort();
  });
  let body: Buffer | null;
  try {
    body = await readBody(req, surface.maxBodyBytes);
  } catch (e) {
    return sendError(res, e, true);
  }
  if (body === null) return;
  try {
    const up = await surface.calls.handle({ url, body, accept: req.headers.accept, signal: gone.signal });
    res.writeHead(up.status, up.headers);
    // Errors on either side end both; the call path accounts for the outcome from the body's events.
    pipeline(up.body, res, () => undefined);
  } catch (e) {
    sendError(res, e);
  }
}

export function createNodeServer(surface: AgentSurface): Server {
  return createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    handle(surface, req, res).catch((e: unknown) => sendError(res, e));
  });
}
