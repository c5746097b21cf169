// A stand-in for the router, for agent tests and bench:agent: it issues real tokens with the
// router's own signing code (core/token.ts, key set in the router's secret format), serves the JWKS
// and Vast's /pubkey/, and records /worker_status/ and /delete_requests/ after checking them
// against the wire schemas and the worker's credentials, as the router does.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { generateTokenKey, loadTokenSigner, type PrivateTokenJwk, type TokenSigner } from "../../core/token.ts";
import { loadVastSigner, generateVastKey, type VastSigner } from "../../core/vast-signature.ts";
import { DeleteRequests, WorkerStatus } from "../../core/wire.ts";

export interface Recorded {
  /** ms since the stand-in started. */
  at: number;
  /** The body as the agent sent it (JSON-parsed, before schema transforms). */
  raw: Record<string, unknown>;
  status: WorkerStatus;
}

export interface Grant {
  url: string;
  endpoint?: string;
  reqnum?: number;
  request_idx?: number;
  cost?: number;
  lifetimeS?: number;
  /** Issue time (s); default now. */
  nowS?: number;
}

export interface StandInRouter {
  readonly url: string;
  readonly reports: Recorded[];
  readonly deletes: { at: number; request_idxs: number[] }[];
  /** "failing": report routes answer 503 (the router is down for the agent). */
  mode: "up" | "failing";
  /** Replaces the published and signing keys ([]: publish none). */
  setKeys(keys: PrivateTokenJwk[]): Promise<void>;
  /** A token exactly as the router issues it (fresh reqnum and request_idx unless given). */
  issue(grant: Grant): Promise<string>;
  /** A whole `/route/` answer, i.e. `auth_data`, for a worker URL. */
  authData(grant: Grant): Promise<Record<string, unknown> & { token: string; reqnum: number; request_idx: number; cost: number }>;
  readonly vast: VastSigner;
  /** Resolves with the first report (from now on, or already recorded if `past`) matching `pred`. */
  waitForReport(pred: (r: Recorded) => boolean, timeoutMs?: number): Promise<Recorded>;
  close(): Promise<void>;
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        resolve(undefined);
      }
    });
  });
}

function send(res: ServerResponse, status: number, body: unknown, type = "application/json"): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": type });
  res.end(text);
}

export async function startRouterStandIn(opts: { workerId: string; mtoken: string; endpoint: string }): Promise<StandInRouter> {
  const started = performance.now();
  let signer: TokenSigner | null = await loadTokenSigner(JSON.stringify({ keys: [await generateTokenKey("k1")] }));
  const vast = await loadVastSigner(JSON.stringify(await generateVastKey()));
  const reports: Recorded[] = [];
  const deletes: { at: number; request_idxs: number[] }[] = [];
  const waiters = new Set<{ pred: (r: Recorded) => boolean; resolve: (r: Recorded) => void }>();
  let reqnum = 1000;
  let requestIdx = 1;

  const server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? "/").split("?")[0];
      if (req.method === "GET" && path === "/.well-known/jwks.json") return send(res, 200, signer ? signer.jwks : { keys: [] });
      if (req.method === "GET" && path === "/pubkey/") return send(res, 200, vast.publicPem, "text/plain");
      if (req.method !== "POST" || (path !== "/worker_status/" && path !== "/delete_requests/")) return send(res, 404, { error: "not found" });
      const raw = await readJson(req);
      if (stand.mode === "failing") return send(res, 503, { error: "unavailable" });
      const schema = path === "/worker_status/" ? WorkerStatus : DeleteRequests;
      const parsed = schema.safeParse(raw);
      if (!parsed.success) return send(res, 400, { error_msg: parsed.error.message });
      if (parsed.data.id !== opts.workerId || parsed.data.mtoken !== opts.mtoken) return send(res, 401, { error: "Authentication failed" });
      const at = performance.now() - started;
      if (path === "/delete_requests/") {
        deletes.push({ at, request_idxs: (parsed.data as DeleteRequests).request_idxs });
        return send(res, 200, { ok: true, deleted: 0 });
      }
      const rec: Recorded = { at, raw: raw as Record<string, unknown>, status: parsed.data as WorkerStatus };
      reports.push(rec);
      for (const w of waiters) {
        if (w.pred(rec)) {
          waiters.delete(w);
          w.resolve(rec);
        }
      }
      send(res, 200, { ok: true });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const issue = async (g: Grant) => {
    if (!signer) throw new Error("no keys");
    return signer.sign(
      { url: g.url, endpoint: g.endpoint ?? opts.endpoint, reqnum: g.reqnum ?? reqnum++, request_idx: g.request_idx ?? requestIdx++, cost: g.cost ?? 16 },
      g.lifetimeS ?? 60,
      g.nowS ?? Math.floor(Date.now() / 1000),
    );
  };

  const stand: StandInRouter = {
    url,
    reports,
    deletes,
    mode: "up",
    vast,
    async setKeys(keys) {
      signer = keys.length > 0 ? await loadTokenSigner(JSON.stringify({ keys })) : null;
    },
    issue,
    async authData(g) {
      const grant = { ...g, reqnum: g.reqnum ?? reqnum++, request_idx: g.request_idx ?? requestIdx++, cost: g.cost ?? 16 };
      const token = await issue(grant);
      return {
        endpoint: grant.endpoint ?? opts.endpoint,
        url: g.url,
        cost: grant.cost,
        reqnum: grant.reqnum,
        request_idx: grant.request_idx,
        signature: await vast.sign(g.url),
        __request_id: `r${grant.request_idx}`,
        token,
      };
    },
    waitForReport(pred, timeoutMs = 10_000) {
      const hit = reports.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          resolve: (r: Recorded) => {
            clearTimeout(timer);
            resolve(r);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`no matching report within ${timeoutMs} ms (last: ${JSON.stringify(reports.at(-1)?.raw ?? null)})`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return stand;
}
