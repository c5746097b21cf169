// The catalogue of attacks on request tokens, end to end: client → agent → simulated model server,
// with tokens signed by the router's own code (the router stand-in). Every attack must get a 401 in
// the one shape that says nothing about which check failed, and the model server must see nothing:
// no request, no load. docs/RELIABILITY.md counts these rows.
import { SignJWT, base64url, exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateTokenKey, loadTokenSigner, type PrivateTokenJwk } from "../../core/token.ts";
import { ENDPOINT, startStack, type Stack } from "./harness.ts";

let s: Stack;
/** A second agent whose router rotates its key while it runs (see the last test). */
let rot: Stack;
let retired: PrivateTokenJwk;
/** When `rot` was ready: its agent had fetched its keys by then. */
let rotReadyAt: number;
beforeAll(async () => {
  retired = await generateTokenKey("k0");
  [s, rot] = await Promise.all([
    startStack(),
    startStack({ beforeAgent: (router) => router.setKeys([retired]) }).then((st) => ((rotReadyAt = performance.now()), st)),
  ]);
});
afterAll(async () => {
  await Promise.all([s?.close(), rot?.close()]);
});

type Auth = Record<string, unknown> & { token: string; reqnum: number; request_idx: number; cost: number };

const enc = (o: unknown) => base64url.encode(JSON.stringify(o));
const dec = (part: string) => JSON.parse(new TextDecoder().decode(base64url.decode(part))) as Record<string, unknown>;
const nowS = () => Math.floor(Date.now() / 1000);
let nextReqnum = 700_000;

/** A genuine /route/ answer for this agent. */
const genuine = (over: Record<string, unknown> = {}): Promise<Auth> => s.router.authData({ url: s.agent.url, ...over });

/** A genuine answer whose token is replaced (the plain fields stay consistent with the forged claims). */
async function withToken(token: string, claims?: Record<string, unknown>): Promise<Auth> {
  const a = await genuine();
  const plain = claims ? { reqnum: claims.reqnum as number, request_idx: claims.request_idx as number, cost: claims.cost as number } : {};
  return { ...a, ...plain, token };
}

/** Claims an attacker would like signed: this agent, this endpoint, a fresh reqnum, a big cost. */
function claims(over: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = nowS();
  return { endpoint: ENDPOINT, reqnum: nextReqnum++, request_idx: 5, cost: 1, aud: s.agent.url, iat, exp: iat + 60, ...over };
}

/** A JWS signed by the attacker's own key pair, under the header the attacker chooses. */
async function selfSigned(alg: "EdDSA" | "ES256" | "RS256", header: Record<string, unknown>, body = claims()): Promise<string> {
  const { privateKey } = await generateKeyPair(alg, alg === "EdDSA" ? { crv: "Ed25519" } : {});
  return new SignJWT(body).setProtectedHeader({ alg, ...header }).sign(privateKey);
}

async function hmac(keyBytes: Uint8Array, body = claims()): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new Uint8Array(keyBytes), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const input = `${enc({ alg: "HS256", kid: "k1", typ: "JWT" })}.${enc(body)}`;
  return `${input}.${base64url.encode(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input))))}`;
}

async function routerJwk(): Promise<{ kid: string; x: string }> {
  const jwks = (await (await fetch(`${s.router.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string; x: string }[] };
  return jwks.keys[0]!;
}

/** Flips one character in the middle of a token part (0 header, 1 claims, 2 signature). */
function flip(token: string, part: number): string {
  const parts = token.split(".");
  const p = parts[part]!;
  const i = Math.floor(p.length / 2);
  parts[part] = `${p.slice(0, i)}${p[i] === "A" ? "B" : "A"}${p.slice(i + 1)}`;
  return parts.join(".");
}

/** Re-encodes the claims part with `over` applied, keeping the original signature. */
function reclaim(token: string, over: Record<string, unknown>): string {
  const [h, p, sig] = token.split(".") as [string, string, string];
  return `${h}.${enc({ ...dec(p), ...over })}.${sig}`;
}

const CATALOGUE: [string, () => Promise<Auth>][] = [
  // Forgery
  ["forged signature (one character of it changed)", async () => { const a = await genuine(); return { ...a, token: flip(a.token, 2) }; }],
  ["forged: signed by another key under the router's kid", async () => { const c = claims(); return withToken(await selfSigned("EdDSA", { kid: (await routerJwk()).kid }, c), c); }],
  ["forged: claims changed under the router's signature (cost lowered)", async () => { const a = await genuine({ cost: 500 }); return { ...a, cost: 1, token: reclaim(a.token, { cost: 1 }) }; }],
  ["forged: claims changed under the router's signature (another reqnum)", async () => { const a = await genuine(); return { ...a, reqnum: a.reqnum + 1, token: reclaim(a.token, { reqnum: a.reqnum + 1 }) }; }],
  ["forged: header changed under the router's signature (kid)", async () => { const a = await genuine(); const [, p, sig] = a.token.split("."); return { ...a, token: `${enc({ alg: "EdDSA", kid: "k9" })}.${p}.${sig}` }; }],
  // Algorithms
  ["alg none, with the router's kid", async () => { const c = claims(); return withToken(`${enc({ alg: "none", kid: "k1", typ: "JWT" })}.${enc(c)}.`, c); }],
  ["alg none, without a kid", async () => { const c = claims(); return withToken(`${enc({ alg: "none" })}.${enc(c)}.`, c); }],
  ["alg 'None' (case games)", async () => { const c = claims(); return withToken(`${enc({ alg: "None", kid: "k1" })}.${enc(c)}.`, c); }],
  ["algorithm confusion: HS256 keyed with the public JWK", async () => { const c = claims(); return withToken(await hmac(new TextEncoder().encode(JSON.stringify(await routerJwk())), c), c); }],
  ["algorithm confusion: HS256 keyed with the raw public key", async () => { const c = claims(); return withToken(await hmac(base64url.decode((await routerJwk()).x), c), c); }],
  ["algorithm confusion: ES256 under the router's EdDSA kid", async () => { const c = claims(); return withToken(await selfSigned("ES256", { kid: "k1" }, c), c); }],
  ["algorithm confusion: RS256 under the router's kid", async () => { const c = claims(); return withToken(await selfSigned("RS256", { kid: "k1" }, c), c); }],
  ["embedded key: the header carries its own jwk", async () => {
    const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const c = claims();
    return withToken(await new SignJWT(c).setProtectedHeader({ alg: "EdDSA", kid: "k1", jwk: await exportJWK(publicKey) }).sign(privateKey), c);
  }],
  // Keys
  ["unknown kid (a stranger's key set)", async () => {
    const stranger = await loadTokenSigner(JSON.stringify({ keys: [await generateTokenKey("k9")] }));
    const a = await genuine();
    return { ...a, token: await stranger.sign({ url: s.agent.url, endpoint: ENDPOINT, reqnum: a.reqnum, request_idx: a.request_idx, cost: a.cost }, 60, nowS()) };
  }],
  // Time
  ["expired (beyond the clock skew)", async () => genuine({ nowS: nowS() - 120, lifetimeS: 60 })],
  ["issued in the future (beyond the clock skew)", async () => genuine({ nowS: nowS() + 120 })],
  ["issued before this agent started", async () => genuine({ nowS: nowS() - 40, lifetimeS: 60 })],
  // Scope
  ["another worker's token (audience)", async () => ({ ...(await s.router.authData({ url: "http://127.0.0.1:1" })), url: s.agent.url })],
  ["another worker's token, sent with its own url", async () => s.router.authData({ url: "http://127.0.0.1:1" })],
  ["another endpoint's token", async () => ({ ...(await genuine({ endpoint: "other-endpoint" })), endpoint: ENDPOINT })],
  // auth_data tampered beside a valid token
  ["tampered cost beside a valid token", async () => { const a = await genuine({ cost: 64 }); return { ...a, cost: 1 }; }],
  ["tampered url beside a valid token", async () => ({ ...(await genuine()), url: "http://127.0.0.1:1" })],
  ["tampered request_idx beside a valid token", async () => { const a = await genuine(); return { ...a, request_idx: a.request_idx + 1 }; }],
  ["tampered reqnum beside a valid token", async () => { const a = await genuine(); return { ...a, reqnum: a.reqnum + 1_000_000 }; }],
  ["tampered endpoint beside a valid token", async () => ({ ...(await genuine()), endpoint: "other-endpoint" })],
  // Shape
  ["truncated: the header only", async () => { const a = await genuine(); return { ...a, token: a.token.split(".")[0]! }; }],
  ["truncated: no signature part", async () => { const a = await genuine(); return { ...a, token: a.token.split(".").slice(0, 2).join(".") }; }],
  ["truncated: signature cut in half", async () => { const a = await genuine(); return { ...a, token: a.token.slice(0, a.token.length - 43) }; }],
  ["truncated: last character dropped", async () => { const a = await genuine(); return { ...a, token: a.token.slice(0, -1) }; }],
  ["truncated: empty", async () => ({ ...(await genuine()), token: "" })],
  ["oversized: a valid token padded to 5,000 characters", async () => { const a = await genuine(); return { ...a, token: a.token + "A".repeat(5000 - a.token.length) }; }],
  ["oversized: 1 MB", async () => ({ ...(await genuine()), token: "eyJ".padEnd(1 << 20, "A") })],
  ["oversized: a huge claims part under the router's signature", async () => { const a = await genuine(); return { ...a, token: reclaim(a.token, { pad: "x".repeat(8000) }) }; }],
  ["not a JWT at all", async () => ({ ...(await genuine()), token: "not-a-token" })],
  ["five parts (JWE-shaped)", async () => ({ ...(await genuine()), token: "a.b.c.d.e" })],
];

async function refusedUnseen(auth_data: unknown, at: Stack = s): Promise<void> {
  const before = at.simStats().received;
  const res = await at.post("/v1/completions", { auth_data, payload: { prompt: "let me in", max_tokens: 2 } });
  expect(res.status).toBe(401);
  expect(await res.json()).toEqual({ code: "unauthorized", message: "Authentication failed" });
  expect(at.simStats().received).toBe(before);
  const h = await at.health();
  expect([h.state, h.in_flight_load, h.in_flight_requests]).toEqual(["ready", 0, 0]);
}

describe("token attacks: 401, and the model server sees nothing", () => {
  it("a genuine token gets through (the control case)", async () => {
    const before = s.simStats().received;
    const res = await s.post("/v1/completions", { auth_data: await genuine(), payload: { prompt: "hello", max_tokens: 2 } });
    expect(res.status).toBe(200);
    expect(s.simStats().received).toBe(before + 1);
  });

  it.each(CATALOGUE)("%s", async (_name, makeAuth) => refusedUnseen(await makeAuth()));

  it("replayed reqnum: the same answer twice, and a new token reusing the reqnum", async () => {
    const auth_data = await genuine();
    expect((await s.post("/v1/completions", { auth_data, payload: { prompt: "once", max_tokens: 2 } })).status).toBe(200);
    await refusedUnseen(auth_data);
    await refusedUnseen(await genuine({ reqnum: auth_data.reqnum }));
  });

  it("a tampered copy does not spend the genuine answer it was made from", async () => {
    const a = await genuine({ cost: 64 });
    await refusedUnseen({ ...a, cost: 1 });
    const res = await s.post("/v1/completions", { auth_data: a, payload: { prompt: "mine", max_tokens: 2 } });
    expect(res.status).toBe(200);
  });
});

describe("key rotated out while the agent runs", () => {
  it("refuses the retired key's tokens once a token of the new key has made the agent refetch", async () => {
    // Signed by the key the agent fetched at start: accepted.
    const old = await loadTokenSigner(JSON.stringify({ keys: [retired] }));
    const oldToken = async () => {
      const a = await rot.router.authData({ url: rot.agent.url });
      return { ...a, token: await old.sign({ url: rot.agent.url, endpoint: ENDPOINT, reqnum: a.reqnum, request_idx: a.request_idx, cost: a.cost }, 60, nowS()) };
    };
    expect((await rot.post("/v1/completions", { auth_data: await oldToken(), payload: { prompt: "a", max_tokens: 2 } })).status).toBe(200);
    // The router rotates: only the new key is published now. The agent refetches on an unknown kid,
    // at most once per 10 s (a stream of bogus kids must not flood the router): wait out that window.
    await rot.router.setKeys([await generateTokenKey("k1")]);
    const wait = rotReadyAt + 11_000 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    expect((await rot.call("/v1/completions", { prompt: "new key", max_tokens: 2 })).status).toBe(200);
    await refusedUnseen(await oldToken(), rot);
  }, 30_000);
});
