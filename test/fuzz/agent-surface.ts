// The gpu-agent's model route as the fuzzer sees it: `{auth_data, payload}` with a genuine token
// (fresh for every case) made malformed in one way. Field rules are read off core/wire.ts (AuthData).
import { z } from "zod";
import type { Value } from "./body.ts";
import type { RouteSpec, Surface } from "./cases.ts";

export interface AgentCtx {
  /** A genuine /route/ answer for this agent (a fresh reqnum each time). */
  authData(over?: { endpoint?: string; url?: string; nowS?: number; lifetimeS?: number }): Promise<Record<string, Value>>;
  agentUrl: string;
}

/** The agent's MAX_BODY_BYTES in the fuzz runs (the default, 16 MiB, would make over-limit cases slow to send). */
export const AGENT_BODY_LIMIT = 256 * 1024;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

type Req = Parameters<NonNullable<RouteSpec<AgentCtx>["credentials"]>[number]>[1];
const authOf = (r: Req) => r.body.auth_data as Record<string, Value>;
const tokenOf = (r: Req) => String(authOf(r).token);
/** Replaces one character in the middle of the token's `part` (0 header, 1 claims, 2 signature). */
function flip(token: string, part: number): string {
  const parts = token.split(".");
  const p = parts[part] ?? "";
  const i = Math.floor(p.length / 2);
  parts[part] = `${p.slice(0, i)}${p[i] === "A" ? "B" : "A"}${p.slice(i + 1)}`;
  return parts.join(".");
}

function route(path: string): RouteSpec<AgentCtx> {
  return {
    name: `POST ${path}`,
    method: "POST",
    path: () => path,
    fields: [
      // url is only compared with the token's audience: any other string is tampering (401).
      { name: "auth_data.url", kind: "string", required: true, max: 2048, bad: ["http://127.0.0.1:1", "http://10.0.0.1:3000", ""] },
      { name: "auth_data.endpoint", kind: "string", required: true, min: 1, max: 64, pattern: NAME },
      { name: "auth_data.reqnum", kind: "number", required: true, min: 0, max: MAX_SAFE, int: true },
      { name: "auth_data.request_idx", kind: "number", required: true, min: 0, max: MAX_SAFE, int: true },
      { name: "auth_data.cost", kind: "number", required: true, min: 0, max: 1e12 },
      { name: "auth_data.token", kind: "string", required: true, max: 4096, bad: ["", "not-a-token", "a.b.c", "a.b.c.d.e", "eyJhbGciOiJub25lIn0.e30."] },
      { name: "auth_data.signature", kind: "string", max: 4096 },
      { name: "auth_data", kind: "record", required: true },
      { name: "payload", kind: "any", required: true },
    ],
    base: async (c) => ({ auth_data: await c.authData(), payload: { model: "sim-model", prompt: "fuzz", max_tokens: 2 } }),
    strict: false,
    headers: () => ({ "content-type": "application/json" }),
    otherFormats: true,
    credentials: [
      (_c, r) => void (authOf(r).token = flip(tokenOf(r), 2)),
      (_c, r) => void (authOf(r).token = flip(tokenOf(r), 1)),
      (_c, r) => void (authOf(r).token = tokenOf(r).slice(0, -2)),
      (_c, r) => void (authOf(r).cost = Number(authOf(r).cost) + 1),
      (_c, r) => void (authOf(r).request_idx = Number(authOf(r).request_idx) + 1),
      (_c, r) => void (authOf(r).reqnum = Number(authOf(r).reqnum) + 1),
      async (c, r) => void (r.body.auth_data = { ...(await c.authData({ endpoint: "other-endpoint" })), endpoint: authOf(r).endpoint ?? null }),
      async (c, r) => void (r.body.auth_data = { ...(await c.authData({ url: "http://127.0.0.1:1" })), url: c.agentUrl }),
      async (c, r) => void (r.body.auth_data = await c.authData({ nowS: Math.floor(Date.now() / 1000) - 600 })),
      async (c, r) => void (r.body.auth_data = await c.authData({ nowS: Math.floor(Date.now() / 1000) + 600 })),
      (_c, r) => void delete authOf(r).token,
    ],
  };
}

export const agentSurface: Surface<AgentCtx> = {
  name: "agent",
  statuses: [400, 401, 413, 422],
  errorShape: () => z.object({ code: z.string().min(1), message: z.string().min(1) }).strict(),
  bodyLimit: AGENT_BODY_LIMIT,
  routes: ["/v1/completions", "/v1/chat/completions", "/generate", "/any/route"].map(route),
};
