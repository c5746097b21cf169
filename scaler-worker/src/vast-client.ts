// Vast's instance API from the scaler: Bearer auth, every answer parsed by zod, retries with jittered
// exponential backoff on 429, 5xx and timeouts, bounded per tick (one client per tick). A create is
// retried only on 429 (Vast did not process it); after a 5xx or a timeout it may have happened, so
// the error says "ambiguous" and the ledger, not a retry, settles it. Nothing secret is ever logged:
// not the key, not request bodies (they carry MASTER_TOKEN), not instance env.
import { z } from "zod";
import { log } from "../../core/log.ts";
import {
  BULK_MAX_IDS,
  CreateInstanceAnswer,
  ErrorBody,
  OfferSearchAnswer,
  parseInstanceList,
  SuccessAnswer,
  type CreateInstanceRequest,
  type OfferQuery,
  type VastInstance,
  type VastOffer,
} from "../../core/vast-api.ts";

export type VastErrorKind = "http" | "rate_limited" | "server" | "timeout" | "network" | "bad_answer" | "backed_off";

export class VastError extends Error {
  constructor(
    readonly kind: VastErrorKind,
    /** Vast's error code (`resources_unavailable`, `no_such_instance`, ...) or the HTTP status. */
    readonly code: string,
    /** The request may have taken effect (5xx, timeout, unreadable answer). */
    readonly ambiguous: boolean,
    readonly status: number | null = null,
  ) {
    super(`vast ${kind}: ${code}`);
    this.name = "VastError";
  }
}

export interface RetryPolicy {
  timeoutMs: number;
  maxAttempts: number;
  baseMs: number;
  capMs: number;
  /** Retries allowed over the client's life (a tick). */
  retryBudget: number;
  /** Calls allowed over the client's life, retries included. */
  maxCalls: number;
  /** Consecutive failed attempts after which the client stops calling (circuit open for the tick). */
  stormThreshold: number;
  /** ms since epoch after which no call starts and no retry waits: a pass must end within its lease. */
  deadline?: number;
}

export interface VastCallStats {
  calls: number;
  retries: number;
  failures: number;
  /** Calls per route template, e.g. "GET /instances/". */
  byRoute: Record<string, number>;
}

export interface BulkResult {
  failed: { id: number; error: string }[];
}

export interface VastApi {
  listInstances(): Promise<VastInstance[]>;
  searchOffers(query: OfferQuery): Promise<VastOffer[]>;
  createInstance(offerId: number, body: CreateInstanceRequest): Promise<number>;
  setState(id: number, state: "running" | "stopped"): Promise<void>;
  /** Resolves when destroyed or already gone (404 no_such_instance). */
  destroy(id: number): Promise<void>;
  bulkSetState(ids: number[], state: "running" | "stopped"): Promise<BulkResult>;
  bulkDestroy(ids: number[]): Promise<BulkResult>;
  stats(): VastCallStats;
}

const BulkAnswer = SuccessAnswer.extend({ failed: z.array(z.object({ id: z.number(), error: z.string() })).optional() });

export interface VastClientOptions {
  baseUrl: string;
  apiKey: string;
  labelPrefix: string;
  policy: RetryPolicy;
  fetch?: typeof fetch;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export function createVastClient(o: VastClientOptions): VastApi {
  const doFetch = o.fetch ?? fetch;
  const random = o.random ?? Math.random;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const stats: VastCallStats = { calls: 0, retries: 0, failures: 0, byRoute: {} };
  let consecutiveFailures = 0;

  async function request<T>(
    method: string,
    route: string,
    path: string,
    schema: z.ZodType<T> | null,
    body: unknown,
    idempotent: boolean,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (consecutiveFailures >= o.policy.stormThreshold || stats.calls >= o.policy.maxCalls) {
        throw new VastError("backed_off", consecutiveFailures >= o.policy.stormThreshold ? "storm" : "call_budget", false);
      }
      const left = (o.policy.deadline ?? Infinity) - Date.now();
      if (left <= 0) throw new VastError("backed_off", "deadline", false);
      stats.calls++;
      stats.byRoute[`${method} ${route}`] = (stats.byRoute[`${method} ${route}`] ?? 0) + 1;
      const err = await attemptOnce(Math.min(o.policy.timeoutMs, left));
      if (!(err instanceof VastError)) {
        consecutiveFailures = 0;
        return err.value;
      }
      stats.failures++;
      // 4xx other than 429 are answers, not outages: they do not count towards a storm.
      if (err.kind !== "http" && err.kind !== "bad_answer") consecutiveFailures++;
      const retryable = err.kind === "rate_limited" || (idempotent && (err.kind === "server" || err.kind === "timeout" || err.kind === "network"));
      const delay = random() * Math.min(o.policy.capMs, o.policy.baseMs * 2 ** attempt);
      log("warn", "vast call failed", { method, route, kind: err.kind, code: err.code, attempt: attempt + 1, retry: retryable });
      const pastDeadline = Date.now() + delay >= (o.policy.deadline ?? Infinity);
      if (!retryable || attempt + 1 >= o.policy.maxAttempts || stats.retries >= o.policy.retryBudget || pastDeadline) throw err;
      stats.retries++;
      await sleep(delay);
    }

    async function attemptOnce(timeoutMs: number): Promise<VastError | { value: T }> {
      let res: Response;
      try {
        res = await doFetch(`${o.baseUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${o.apiKey}`, accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (e) {
        const timeout = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError");
        return new VastError(timeout ? "timeout" : "network", timeout ? "timeout" : "network", true);
      }
      let text: string;
      try {
        text = await res.text();
      } catch {
        return new VastError("network", "body", true, res.status);
      }
      if (res.status === 429) return new VastError("rate_limited", "429", false, 429);
      if (res.status >= 500) return new VastError("server", String(res.status), true, res.status);
      let json: unknown;
      try {
        json = text === "" ? {} : JSON.parse(text);
      } catch {
        return new VastError(res.ok ? "bad_answer" : "http", res.ok ? "not_json" : String(res.status), res.ok, res.status);
      }
      if (!res.ok) {
        const eb = ErrorBody.safeParse(json);
        return new VastError("http", (eb.success && eb.data.error) || String(res.status), false, res.status);
      }
      if (schema === null) return { value: json as T };
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        log("warn", "vast answer did not parse", { method, route, issues: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".")}: ${i.code}`) });
        return new VastError("bad_answer", "schema", true, res.status);
      }
      return { value: parsed.data };
    }
  }

  /** `{"success": false, "error": ...}` with HTTP 200 is a refusal. */
  const ensureSuccess = (a: z.infer<typeof SuccessAnswer>) => {
    if (!a.success) throw new VastError("http", a.error ?? "refused", false, 200);
  };

  return {
    stats: () => ({ ...stats, byRoute: { ...stats.byRoute } }),
    async listInstances() {
      const body = await request("GET", "/instances/", "/instances/?owner=me", null, undefined, true);
      try {
        return parseInstanceList(body, o.labelPrefix);
      } catch (e) {
        log("warn", "vast instance list did not parse", { error: (e as Error).message.slice(0, 300) });
        throw new VastError("bad_answer", "instance_list", false);
      }
    },
    async searchOffers(query) {
      return (await request("POST", "/bundles/", "/bundles/", OfferSearchAnswer, query, true)).offers;
    },
    async createInstance(offerId, body) {
      return (await request("PUT", "/asks/{id}/", `/asks/${offerId}/`, CreateInstanceAnswer, body, false)).new_contract;
    },
    async setState(id, state) {
      ensureSuccess(await request("PUT", "/instances/{id}/", `/instances/${id}/`, SuccessAnswer, { state }, true));
    },
    async destroy(id) {
      try {
        ensureSuccess(await request("DELETE", "/instances/{id}/", `/instances/${id}/`, SuccessAnswer, undefined, true));
      } catch (e) {
        if (e instanceof VastError && e.code === "no_such_instance") return;
        throw e;
      }
    },
    async bulkSetState(ids, state) {
      if (ids.length > BULK_MAX_IDS) throw new Error("too many ids for one bulk call");
      const a = await request("PUT", "/instances/", "/instances/", BulkAnswer, { state, ids }, true);
      ensureSuccess(a);
      return { failed: a.failed ?? [] };
    },
    async bulkDestroy(ids) {
      if (ids.length > BULK_MAX_IDS) throw new Error("too many ids for one bulk call");
      const a = await request("DELETE", "/instances/", "/instances/", BulkAnswer, { instance_ids: ids }, true);
      ensureSuccess(a);
      return { failed: (a.failed ?? []).filter((f) => f.error !== "no_such_instance") };
    },
  };
}
