// Our per-request token (PROTOCOL.md §3): a compact JWS binding one request to one worker,
// short-lived, with a `kid` so keys rotate without downtime. Signed by the router (workerd),
// verified by the gpu-agent (Node); jose runs on WebCrypto in both.
import {
  CompactSign,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  type CryptoKey as JoseKey,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from "jose";
import { z } from "zod";
import { EndpointName } from "./wire.ts";

/** Algorithms we sign with and the only ones a verifier accepts (no `none`, no HMAC confusion). */
export const TOKEN_ALGORITHMS = ["EdDSA", "ES256"] as const;
export type TokenAlgorithm = (typeof TOKEN_ALGORITHMS)[number];

/** Upper bound on any token's lifetime; verifiers refuse older `iat`s whatever `exp` says. */
export const TOKEN_MAX_LIFETIME_S = 3600;

const Kid = z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/);

/** A private signing key as stored in the `TOKEN_KEYS` secret. */
export const PrivateTokenJwk = z.union([
  z.object({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: z.string(), d: z.string(), kid: Kid, alg: z.literal("EdDSA").optional() }),
  z.object({ kty: z.literal("EC"), crv: z.literal("P-256"), x: z.string(), y: z.string(), d: z.string(), kid: Kid, alg: z.literal("ES256").optional() }),
]);
export type PrivateTokenJwk = z.infer<typeof PrivateTokenJwk>;

/** The `TOKEN_KEYS` secret: the first key signs, every key is published (rotation keeps the old one listed). */
export const TokenKeySet = z.object({ keys: z.array(PrivateTokenJwk).min(1).max(8) }).refine(
  (s) => new Set(s.keys.map((k) => k.kid)).size === s.keys.length,
  "kids must be unique",
);
export type TokenKeySet = z.infer<typeof TokenKeySet>;

/** A public key as published in the JWKS. */
export const PublicTokenJwk = z.object({
  kty: z.enum(["OKP", "EC"]),
  crv: z.enum(["Ed25519", "P-256"]),
  x: z.string(),
  y: z.string().optional(),
  kid: Kid,
  alg: z.enum(TOKEN_ALGORITHMS),
  use: z.literal("sig").optional(),
});
export type PublicTokenJwk = z.infer<typeof PublicTokenJwk>;

export const Jwks = z.object({ keys: z.array(PublicTokenJwk).max(16) });
export type Jwks = z.infer<typeof Jwks>;

/** What a token asserts. `aud` is the worker's base URL. */
export const TokenClaims = z.object({
  aud: z.string(),
  endpoint: EndpointName,
  reqnum: z.number().int().min(0),
  request_idx: z.number().int().min(0),
  cost: z.number().finite().min(0),
  iat: z.number().int(),
  exp: z.number().int(),
});
export type TokenClaims = z.infer<typeof TokenClaims>;

export type RequestGrant = Pick<TokenClaims, "endpoint" | "reqnum" | "request_idx" | "cost"> & { url: string };

function algOf(jwk: PrivateTokenJwk): TokenAlgorithm {
  return jwk.kty === "OKP" ? "EdDSA" : "ES256";
}

function publicPart(jwk: PrivateTokenJwk): PublicTokenJwk {
  const alg = algOf(jwk);
  return jwk.kty === "OKP"
    ? { kty: "OKP", crv: jwk.crv, x: jwk.x, kid: jwk.kid, alg, use: "sig" }
    : { kty: "EC", crv: jwk.crv, x: jwk.x, y: jwk.y, kid: jwk.kid, alg, use: "sig" };
}

export interface TokenSigner {
  readonly kid: string;
  /** The public half of every configured key, for `/.well-known/jwks.json`. */
  readonly jwks: Jwks;
  sign(grant: RequestGrant, lifetimeS: number, nowS: number): Promise<string>;
}

/** Parses a `TOKEN_KEYS` value (the secret, or a file kept for rotations); throws a message naming what is wrong. */
export function parseTokenKeys(secret: string): TokenKeySet {
  let raw: unknown;
  try {
    raw = JSON.parse(secret);
  } catch {
    throw new Error("TOKEN_KEYS is not JSON (expected a JWK set of private keys)");
  }
  const parsed = TokenKeySet.safeParse(raw);
  if (!parsed.success) throw new Error(`TOKEN_KEYS is not a valid key set: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

const utf8 = new TextEncoder();

/**
 * Parses the `TOKEN_KEYS` secret and imports the signing key once.
 *
 * Signs with jose's `CompactSign` over claims we serialise ourselves, not `SignJWT`: the same compact
 * JWS (header `{alg, kid, typ: "JWT"}`, claims in the same order), without SignJWT's claim builder,
 * which copied and re-validated every claim on each of the router's requests. Every claim here is a
 * number or string our own code produced (`TokenClaims` types them), so nothing is left to validate.
 */
export async function loadTokenSigner(secret: string): Promise<TokenSigner> {
  const keySet = parseTokenKeys(secret);
  const [active] = keySet.keys;
  if (!active) throw new Error("TOKEN_KEYS has no key");
  const alg = algOf(active);
  const key = (await importJWK({ ...active, alg }, alg)) as JoseKey;
  const jwks: Jwks = { keys: keySet.keys.map(publicPart) };
  const header = { alg, kid: active.kid, typ: "JWT" };
  return {
    kid: active.kid,
    jwks,
    sign(grant, lifetimeS, nowS) {
      const iat = Math.floor(nowS);
      const claims = {
        endpoint: grant.endpoint,
        reqnum: grant.reqnum,
        request_idx: grant.request_idx,
        cost: grant.cost,
        aud: grant.url,
        iat,
        exp: iat + Math.max(1, Math.min(Math.floor(lifetimeS), TOKEN_MAX_LIFETIME_S)),
      } satisfies TokenClaims;
      return new CompactSign(utf8.encode(JSON.stringify(claims))).setProtectedHeader(header).sign(key);
    },
  };
}

export interface TokenExpectations {
  /** The verifying worker's own public base URL. */
  audience: string;
  endpoint: string;
  nowS: number;
  /** Clock skew tolerated on `iat` and `exp`. */
  skewS: number;
}

/** A key lookup over a fixed JWKS (jose picks by `kid` and `alg`). */
export function keyLookup(jwks: Jwks): JWTVerifyGetKey {
  return createLocalJWKSet(jwks as JSONWebKeySet);
}

/**
 * Verifies signature (only EdDSA/ES256), `kid`, audience, expiry with skew, `iat` not in the future,
 * and the endpoint claim. Throws on any failure; the caller maps every throw to 401.
 */
export async function verifyToken(token: string, getKey: JWTVerifyGetKey, expect: TokenExpectations): Promise<TokenClaims> {
  const { payload, protectedHeader } = await jwtVerify(token, getKey, {
    algorithms: [...TOKEN_ALGORITHMS],
    audience: expect.audience,
    clockTolerance: expect.skewS,
    currentDate: new Date(expect.nowS * 1000),
    maxTokenAge: TOKEN_MAX_LIFETIME_S,
    requiredClaims: ["exp", "iat", "aud"],
  });
  if (!protectedHeader.kid) throw new Error("token has no kid");
  const claims = TokenClaims.parse(payload);
  if (claims.endpoint !== expect.endpoint) throw new Error("token is for another endpoint");
  if (claims.exp - claims.iat > TOKEN_MAX_LIFETIME_S) throw new Error("token lifetime too long");
  return claims;
}

/** A fresh Ed25519 signing key as a private JWK (development keys, rotation). */
export async function generateTokenKey(kid: string): Promise<PrivateTokenJwk> {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  return PrivateTokenJwk.parse({ ...(await exportJWK(privateKey)), kid, alg: "EdDSA" });
}
