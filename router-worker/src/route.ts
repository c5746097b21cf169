// POST /route/: authenticate the endpoint key, let the endpoint's Durable Object pick a worker
// (holding the call while none is ready), then sign what it decided.
import { Hono } from "hono";
import { AppError, unauthorized, notFound } from "../../core/app-error.ts";
import { hashSecret } from "../../core/secret.ts";
import { RouteRequest, type RouteReady, type RouteWaiting } from "../../core/wire.ts";
import { loadConfig } from "./config.ts";
import { signers, vastSignature } from "./signing.ts";
import type { RouteOutcome } from "./endpoint-object.ts";
import { endpointCall } from "./endpoint-call.ts";
import { jsonBody } from "./validation.ts";

/** Vast's SDK sends the key in the body, as a Bearer header and in the query; take the first present. */
export function apiKeyOf(bodyKey: string | undefined, authorization: string | undefined, queryKey: string | undefined): string | undefined {
  if (bodyKey) return bodyKey;
  const bearer = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
  return bearer ?? (queryKey || undefined);
}

/** Key → SHA-256, per isolate: a busy client sends the same key thousands of times a second. */
const KEY_HASH_CACHE_MAX = 1024;
const keyHashes = new Map<string, string>();

async function keyHashOf(key: string): Promise<string> {
  const hit = keyHashes.get(key);
  if (hit) return hit;
  const hash = await hashSecret(key);
  if (keyHashes.size >= KEY_HASH_CACHE_MAX) keyHashes.clear();
  keyHashes.set(key, hash);
  return hash;
}

export const route = new Hono<{ Bindings: Env }>().post("/route/", jsonBody(RouteRequest), async (c) => {
  const body = c.req.valid("json");
  const key = apiKeyOf(body.api_key, c.req.header("authorization"), c.req.query("api_key"));
  if (!key || key.length > 512) throw unauthorized("no api key");
  const settings = loadConfig(c.env);
  const [keyHash, keys] = await Promise.all([keyHashOf(key), signers(c.env)]);
  const outcome = await endpointCall(body.endpoint, async (): Promise<RouteOutcome> =>
    c.env.ENDPOINTS.getByName(body.endpoint).route({
      endpoint: body.endpoint,
      keyHash,
      cost: body.cost,
      request_idx: body.request_idx,
      replay_timeout: body.replay_timeout,
    }),
  );
  const requestId = crypto.randomUUID();
  switch (outcome.kind) {
    case "not_found":
      throw notFound(`no endpoint named '${body.endpoint}'`);
    case "unauthorized":
      throw unauthorized("wrong api key");
    case "rate_limited":
      throw new AppError(429, "rate_limited", "too many /route/ calls for this key", undefined, {
        "Retry-After": String(outcome.retry_after_s),
      });
    case "waiting": {
      const answer: RouteWaiting = {
        endpoint: body.endpoint,
        status: outcome.status,
        request_idx: outcome.request_idx,
        __request_id: requestId,
        queue_position: outcome.queue_position,
      };
      return c.json(answer);
    }
    case "ready": {
      const lifetime = Math.min(body.replay_timeout ?? settings.TOKEN_TTL_S, settings.TOKEN_TTL_MAX_S);
      const grant = { url: outcome.url, endpoint: body.endpoint, reqnum: outcome.reqnum, request_idx: outcome.request_idx, cost: outcome.cost };
      const [token, signature] = await Promise.all([
        keys.token.sign(grant, lifetime, Math.floor(Date.now() / 1000)),
        vastSignature(keys.vast, outcome.url),
      ]);
      const answer: RouteReady = { ...grant, signature, __request_id: requestId, token };
      return c.json(answer);
    }
  }
});
