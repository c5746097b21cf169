// The stand-in Vast's HTTP side (node:http, so faults can do what real networks do: answer late,
// answer 429 in plain text, or never answer and drop the connection). Routes: PROTOCOL.md §6 under
// /api/v0, plus /sim/* hooks for tests. Request bodies are checked with the same zod schemas the
// scaler sends with (core/vast-api.ts): a malformed body is a 400 invalid_args, as at Vast.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { z } from "zod";
import { BulkDestroyRequest, BulkStateRequest, CreateInstanceRequest, OfferQuery, SetStateRequest } from "../../core/vast-api.ts";
import { instanceAnswer, VastAccount, type SimInstance, type SimPhase } from "./account.ts";
import { buildCatalogue, offerAnswer, searchOffers } from "./catalogue.ts";
import { Faults, type VastSimOptions } from "./options.ts";
import { ProcessLauncher } from "./processes.ts";

export interface VastSim {
  /** http://host:port */
  readonly url: string;
  /** The API base the scaler's VAST_API_URL points at: `${url}/api/v0`. */
  readonly apiUrl: string;
  readonly port: number;
  readonly account: VastAccount;
  readonly launcher: ProcessLauncher | null;
  faults(): Faults;
  setFaults(patch: Partial<Faults>): Faults;
  counters(): Record<string, number>;
  close(): Promise<void>;
}

/** Seeded PRNG (mulberry32): the same faults for the same seed and call order. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.msg ?? body.error));
  }
}

const BODY_LIMIT = 1024 * 1024;

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > BODY_LIMIT) reject(new HttpError(413, { success: false, error: "too_large", msg: "body too large" }));
      else chunks.push(c);
    });
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      if (text.trim() === "") return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, { success: false, error: "invalid_args", msg: "body is not JSON" }));
      }
    });
    req.on("error", reject);
  });
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) throw new HttpError(400, { success: false, error: "invalid_args", msg: z.prettifyError(r.error) });
  return r.data;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string, type = "text/plain"): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startVastSim(options: VastSimOptions): Promise<VastSim> {
  let faults: Faults = { ...options.faults };
  const random = seededRandom(options.seed);
  const counters: Record<string, number> = {};
  const count = (k: string) => (counters[k] = (counters[k] ?? 0) + 1);
  const bucket = { tokens: options.burst, at: Date.now() };
  const sockets = new Set<Socket>();
  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  let account: VastAccount;
  const launcher = options.processes
    ? new ProcessLauncher(options, (id, which, code, signal) => {
        // A child died on its own: the container "exited", as Vast would report it.
        count(`child_exit_${which}`);
        if (account.instances.get(id)?.phase === "running") account.fail(id, "exited", `${which} exited (${code ?? signal})`, Date.now());
      })
    : null;
  const onPhase = (inst: SimInstance, _prev: SimPhase | "destroyed" | null, next: SimPhase | "destroyed") => {
    if (!launcher) {
      if (next === "running" && Object.keys(inst.ports).length === 0) inst.ports = { "3000": 40_000 + (inst.id % 20_000) };
      return;
    }
    if (next === "running") track(launcher.launch(inst).catch(() => account.fail(inst.id, "exited", "could not launch", Date.now())));
    else if (next === "stopping" || next === "exited" || next === "offline") track(launcher.stop(inst.id));
    else if (next === "destroyed") launcher.kill(inst.id);
  };
  account = new VastAccount(buildCatalogue(options.gpus), () => faults, random, onPhase);
  const ticker = setInterval(() => account.advance(Date.now()), 50);
  ticker.unref();

  const takeToken = (now: number): boolean => {
    if (options.rate <= 0) return true;
    bucket.tokens = Math.min(options.burst, bucket.tokens + ((now - bucket.at) / 1000) * options.rate);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };

  async function api(req: IncomingMessage, res: ServerResponse, method: string, path: string, url: URL): Promise<void> {
    const auth = req.headers.authorization ?? "";
    if (auth !== `Bearer ${options.apiKey}`) {
      count("401");
      return send(res, 401, { success: false, error: "auth_error", msg: "Invalid user key" });
    }
    // Vast's rate limit: plain text, no Retry-After.
    if (!takeToken(Date.now()) || random() < faults.rateLimitRate) {
      count("429");
      return sendText(res, 429, "API requests too frequent. Please slow down.");
    }
    const delay = faults.latencyMs + random() * faults.latencyJitterMs;
    if (delay > 0) await sleep(delay);
    if (random() < faults.timeoutRate) {
      count("hung");
      await sleep(faults.hangMs);
      req.socket.destroy();
      return;
    }
    if (random() < faults.errorRate) {
      const status = [500, 502, 503][Math.floor(random() * 3)]!;
      count(String(status));
      return sendText(res, status, `<html><body><h1>${status}</h1>upstream error</body></html>`, "text/html");
    }
    const now = Date.now();
    account.advance(now);
    let m: RegExpExecArray | null;
    if (method === "POST" && path === "/bundles") {
      count("search");
      const query = parse(OfferQuery, await readJson(req));
      return send(res, 200, { offers: searchOffers(account.market(), query).map(offerAnswer) });
    }
    if (method === "PUT" && (m = /^\/asks\/(\d+)$/.exec(path))) {
      count("create");
      const body = parse(CreateInstanceRequest, await readJson(req));
      if (!body.image && !body.template_hash_id) throw new HttpError(400, { success: false, error: "invalid_args", msg: "image or template_hash_id is required" });
      const out = account.create(Number(m[1]), body, now);
      if (!out.ok) throw new HttpError(out.status, { success: false, error: out.error, msg: out.msg });
      if (faults.createAnswerDelayMs > 0) await sleep(faults.createAnswerDelayMs);
      if (random() < faults.loseCreateRate) {
        count("create_lost");
        return sendText(res, 502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html");
      }
      return send(res, 200, { success: true, new_contract: out.value.id });
    }
    if (method === "GET" && path === "/instances") {
      count("list");
      if (url.searchParams.get("owner") !== "me") throw new HttpError(400, { success: false, error: "invalid_args", msg: "owner=me is required" });
      return send(res, 200, { instances: [...account.instances.values()].map(instanceAnswer) });
    }
    if (method === "PUT" && path === "/instances") {
      count("bulk_state");
      const body = parse(BulkStateRequest, await readJson(req));
      const failed = body.ids.flatMap((id) => {
        const r = account.setState(id, body.state, now);
        return r.ok ? [] : [{ id, error: r.error }];
      });
      return send(res, 200, { success: true, failed });
    }
    if (method === "DELETE" && path === "/instances") {
      count("bulk_destroy");
      const body = parse(BulkDestroyRequest, await readJson(req));
      const failed = body.instance_ids.flatMap((id) => {
        const r = account.destroy(id, now);
        return r.ok ? [] : [{ id, error: r.error }];
      });
      return send(res, 200, { success: true, failed });
    }
    if ((m = /^\/instances\/(\d+)$/.exec(path))) {
      const id = Number(m[1]);
      if (method === "GET") {
        count("show");
        const inst = account.instances.get(id);
        if (!inst) throw new HttpError(404, { success: false, error: "no_such_instance", msg: `instance ${id} does not exist` });
        return send(res, 200, { instances: instanceAnswer(inst) });
      }
      if (method === "DELETE") {
        count("destroy");
        const r = account.destroy(id, now);
        if (!r.ok) throw new HttpError(r.status, { success: false, error: r.error, msg: r.msg });
        return send(res, 200, { success: true });
      }
      if (method === "PUT") {
        const body = (await readJson(req)) as Record<string, unknown>;
        if (typeof body.label === "string" && body.state === undefined) {
          count("label");
          const r = account.setLabel(id, body.label);
          if (!r.ok) throw new HttpError(r.status, { success: false, error: r.error, msg: r.msg });
          return send(res, 200, { success: true });
        }
        count(`state_${String(body.state)}`);
        const { state } = parse(SetStateRequest, body);
        const r = account.setState(id, state, now);
        if (!r.ok) {
          // Vast answers a refused restart with HTTP 200 and success: false.
          if (r.status === 200) return send(res, 200, { success: false, error: r.error, msg: r.msg });
          throw new HttpError(r.status, { success: false, error: r.error, msg: r.msg });
        }
        return send(res, 200, { success: true });
      }
    }
    throw new HttpError(404, { success: false, error: "not_found", msg: `no route ${method} ${path}` });
  }

  async function sim(req: IncomingMessage, res: ServerResponse, method: string, path: string): Promise<void> {
    const now = Date.now();
    account.advance(now);
    let m: RegExpExecArray | null;
    if (method === "GET" && path === "/sim/state") {
      return send(res, 200, {
        instances: [...account.instances.values()].map((i) => ({ ...instanceAnswer(i), phase: i.phase, stuck: i.stuck, pids: launcher?.pids(i.id) ?? [] })),
        market: account.market().length,
        billing: account.billing(now),
        counters,
        faults,
      });
    }
    if (method === "POST" && path === "/sim/faults") {
      // Only the keys sent change (Faults.partial() would fill the others with their defaults).
      const patch = parse(z.record(z.string(), z.unknown()), await readJson(req));
      faults = parse(Faults, { ...faults, ...patch });
      return send(res, 200, faults);
    }
    if (method === "POST" && path === "/sim/reset") {
      account.reset();
      for (const k of Object.keys(counters)) delete counters[k];
      faults = { ...options.faults };
      return send(res, 200, { ok: true });
    }
    if (method === "POST" && path === "/sim/seed") {
      const Seed = z.object({
        instances: z.array(
          z.object({ label: z.string().nullable(), gpu_name: z.string(), dph_total: z.number().min(0), phase: z.enum(["running", "stopped", "loading"]).default("running") }),
        ),
      });
      return send(res, 200, { ids: account.seed(parse(Seed, await readJson(req)).instances, now) });
    }
    if (method === "POST" && (m = /^\/sim\/instances\/(\d+)\/fail$/.exec(path))) {
      const body = parse(z.object({ status: z.enum(["exited", "offline"]).default("exited") }), await readJson(req));
      const r = account.fail(Number(m[1]), body.status, "failed by test", now);
      return r.ok ? send(res, 200, { ok: true }) : send(res, r.status, { error: r.error });
    }
    throw new HttpError(404, { error: "not_found", msg: `no route ${method} ${path}` });
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://sim");
    const method = req.method ?? "GET";
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const handle = path.startsWith("/api/v0/") ? api(req, res, method, path.slice("/api/v0".length), url) : sim(req, res, method, path);
    handle.catch((e: unknown) => {
      if (res.headersSent || req.socket.destroyed) return;
      if (e instanceof HttpError) send(res, e.status, e.body);
      else send(res, 500, { success: false, error: "internal", msg: String(e) });
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host}:${port}`;
  const onExit = () => launcher?.killAll();
  process.on("exit", onExit);

  return {
    url,
    apiUrl: `${url}/api/v0`,
    port,
    account,
    launcher,
    faults: () => faults,
    setFaults: (patch) => (faults = Faults.parse({ ...faults, ...patch })),
    counters: () => ({ ...counters }),
    async close() {
      clearInterval(ticker);
      for (const id of launcher?.ids() ?? []) launcher?.kill(id);
      await Promise.allSettled([...pending]);
      launcher?.killAll();
      process.off("exit", onExit);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
