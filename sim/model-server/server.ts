// The simulated model server's HTTP side (node:http: it must cost little CPU, since benchmarks run
// it on the same two cores as the agent they measure).
import { appendFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { DIALECTS, type AnswerMeta, type Dialect, type Job } from "./dialects.ts";
import { Aborted, Engine, seededRandom, sleepUntil, untilAborted } from "./engine.ts";
import type { SimOptions } from "./options.ts";
import { tokenIds } from "./text.ts";

const BODY_LIMIT = 8 * 1024 * 1024;

export interface SimStats {
  loaded: boolean;
  /** Model-route requests that reached the server (valid or not). */
  received: number;
  completed: number;
  failed: number;
  /** The client went away before the answer was complete. */
  cancelled: number;
  /** Sequences decoding now, and waiting for a batch slot. */
  active: number;
  queued: number;
  /** Requests held open by a hang or stall fault now. */
  hung: number;
}

const Faults = z.object({ error_rate: z.number().min(0).max(1).optional(), hang_rate: z.number().min(0).max(1).optional() });

export interface SimServer {
  readonly url: string;
  readonly port: number;
  stats(): SimStats;
  close(): Promise<void>;
}

export interface SimHooks {
  /** Called for the crash fault; the CLI exits the process, tests may do something gentler. */
  onCrash?: () => void;
  /** Where log lines go besides the log file (stdout in the CLI). */
  print?: (line: string) => void;
}

class BadBody extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > BODY_LIMIT) {
        reject(new BadBody("body too large"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export async function startSimServer(opts: SimOptions, hooks: SimHooks = {}): Promise<SimServer> {
  const engine = new Engine({ tokenMs: opts.tokenMs, batchCost: opts.batchCost, maxBatch: opts.maxBatch });
  const random = seededRandom(opts.seed);
  const faults = { errorRate: opts.errorRate, hangRate: opts.hangRate };
  const counts = { received: 0, completed: 0, failed: 0, cancelled: 0, hung: 0 };
  let loaded = false;
  let nextId = 1;

  const print = hooks.print ?? (() => undefined);
  const logLine = (line: string) => {
    print(line);
    if (opts.logFile) appendFileSync(opts.logFile, `${line}\n`);
  };

  const fail = (res: ServerResponse, dialect: Dialect, status: number, message: string) => {
    counts.failed++;
    sendJson(res, status, dialect.errorBody(status, message));
  };

  async function generate(job: Job, dialect: Dialect, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const meta: AnswerMeta = { id: `${dialect.idPrefix}${nextId++}`, created: Math.floor(Date.now() / 1000), model: opts.model };
    const ids = tokenIds(job.prompt, job.maxTokens);
    if (job.stream) {
      // Headers go out at once, as vLLM's do, so the client (and the agent) see the stream begin.
      res.writeHead(200, { "content-type": dialect.streamType, "cache-control": "no-cache" });
      res.flushHeaders();
    }
    const slot = await engine.acquire(signal);
    try {
      if (!job.stream) {
        await sleepUntil(slot.startedAt + ids.length * slot.stepMs, signal);
        counts.completed++;
        sendJson(res, 200, dialect.whole(job, ids, meta));
        return;
      }
      for (let i = 0; i < ids.length; i++) {
        if (job.directive.stall_after === i) {
          counts.hung++;
          try {
            await untilAborted(signal);
          } finally {
            counts.hung--;
          }
        }
        await sleepUntil(slot.startedAt + (i + 1) * slot.stepMs, signal);
        res.write(dialect.frame(job, i, ids[i]!, ids, meta));
      }
      counts.completed++;
      res.end(dialect.end);
    } finally {
      slot.release();
    }
  }

  async function modelRoute(req: IncomingMessage, res: ServerResponse, dialect: Dialect): Promise<void> {
    counts.received++;
    if (opts.crashAfter > 0 && counts.received === opts.crashAfter) {
      logLine("ERROR:    RuntimeError: Engine loop has died (simulated crash)");
      (hooks.onCrash ?? (() => process.exit(1)))();
      res.destroy();
      return;
    }
    let text: string;
    try {
      text = await readBody(req);
    } catch {
      counts.failed++;
      res.destroy();
      return;
    }
    if (!loaded) return fail(res, dialect, 503, "model is loading");
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return fail(res, dialect, dialect.invalidStatus, "body is not JSON");
    }
    const parsed = dialect.schema.safeParse(body);
    if (!parsed.success) return fail(res, dialect, dialect.invalidStatus, z.prettifyError(parsed.error));
    const job = parsed.data;
    if (job.directive.fail !== undefined) return fail(res, dialect, job.directive.fail, "simulated failure");
    if (faults.errorRate > 0 && random() < faults.errorRate) return fail(res, dialect, 500, "simulated failure");

    const abort = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) abort.abort();
    });
    try {
      if (job.directive.hang || (faults.hangRate > 0 && random() < faults.hangRate)) {
        counts.hung++;
        try {
          await untilAborted(abort.signal);
        } finally {
          counts.hung--;
        }
      }
      await generate(job, dialect, res, abort.signal);
    } catch (e) {
      if (!(e instanceof Aborted)) throw e;
      counts.cancelled++;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const dialect = DIALECTS[path];
    if (req.method === "POST" && dialect) return modelRoute(req, res, dialect);
    if (req.method === "GET" && path === "/health") {
      return sendJson(res, loaded ? 200 : 503, { status: loaded ? "ok" : opts.failLoad ? "error" : "loading" });
    }
    if (req.method === "GET" && path === "/v1/models") {
      return sendJson(res, 200, { object: "list", data: [{ id: opts.model, object: "model", owned_by: "sim" }] });
    }
    if (req.method === "GET" && path === "/sim/stats") return sendJson(res, 200, stats());
    if (req.method === "POST" && path === "/sim/faults") {
      let raw: unknown;
      try {
        raw = JSON.parse((await readBody(req)) || "{}");
      } catch {
        return sendJson(res, 400, { error: "body is not JSON" });
      }
      const parsed = Faults.safeParse(raw);
      if (!parsed.success) return sendJson(res, 400, { error: z.prettifyError(parsed.error) });
      faults.errorRate = parsed.data.error_rate ?? faults.errorRate;
      faults.hangRate = parsed.data.hang_rate ?? faults.hangRate;
      return sendJson(res, 200, { error_rate: faults.errorRate, hang_rate: faults.hangRate });
    }
    sendJson(res, 404, { error: "not found" });
  }

  function stats(): SimStats {
    return { loaded, ...counts, active: engine.activeCount, queued: engine.queuedCount };
  }

  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      print(`ERROR:    unexpected ${(e as Error).stack ?? String(e)}`);
      if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  logLine(`INFO:     Loading model ${opts.model} (simulated, ${opts.loadTimeS} s)`);
  const loadTimer = setTimeout(() => {
    if (opts.failLoad) {
      logLine("ERROR:    RuntimeError: Engine core initialization failed (simulated)");
      return;
    }
    loaded = true;
    // vLLM's (uvicorn's) line, then TGI's, so either backend kind's log watcher recognises it.
    logLine("INFO:     Application startup complete.");
    logLine(`{"timestamp":"${new Date().toISOString()}","level":"INFO","fields":{"message":"Connected"},"target":"text_generation_router"}`);
  }, opts.loadTimeS * 1000);

  return {
    url: `http://${opts.host}:${port}`,
    port,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        clearTimeout(loadTimer);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
