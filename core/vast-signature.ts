// Vast's compatibility signature (PROTOCOL.md §3): RSASSA-PKCS1-v1_5/SHA-256 over the worker URL
// alone. It never expires and can be replayed, so we emit it for stock PyWorkers and never rely on it.
// The message is constant per URL: sign once per worker URL and cache, never per request.
import { exportSPKI, importJWK, type CryptoKey as JoseKey } from "jose";
import { z } from "zod";

/** The RSA private key as stored in the `VAST_SIGNING_KEY` secret (a JWK). */
export const RsaPrivateJwk = z.object({
  kty: z.literal("RSA"),
  n: z.string(),
  e: z.string(),
  d: z.string(),
  p: z.string(),
  q: z.string(),
  dp: z.string(),
  dq: z.string(),
  qi: z.string(),
});
export type RsaPrivateJwk = z.infer<typeof RsaPrivateJwk>;

const RSA = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;

/** The exact bytes Vast signs: Python's `json.dumps({"url": url}, indent=4, sort_keys=True)`. */
export function vastSignedMessage(url: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(JSON.stringify({ url }, null, 4));
  return new Uint8Array(bytes);
}

function toBase64(bytes: ArrayBuffer): string {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export interface VastSigner {
  /** SPKI PEM of the public key, served at `GET /pubkey/`. */
  readonly publicPem: string;
  sign(url: string): Promise<string>;
}

export async function loadVastSigner(secret: string): Promise<VastSigner> {
  let raw: unknown;
  try {
    raw = JSON.parse(secret);
  } catch {
    throw new Error("VAST_SIGNING_KEY is not JSON (expected an RSA private JWK)");
  }
  const jwk = RsaPrivateJwk.safeParse(raw);
  if (!jwk.success) throw new Error("VAST_SIGNING_KEY is not an RSA private JWK");
  const privateKey = (await importJWK({ ...jwk.data, alg: "RS256" }, "RS256")) as JoseKey;
  const publicKey = (await importJWK({ kty: "RSA", n: jwk.data.n, e: jwk.data.e, alg: "RS256" }, "RS256", {
    extractable: true,
  })) as JoseKey;
  const publicPem = await exportSPKI(publicKey);
  return {
    publicPem,
    async sign(url) {
      return toBase64(await crypto.subtle.sign(RSA, privateKey, vastSignedMessage(url)));
    },
  };
}

/** Verifies a Vast signature against the SPKI PEM from `/pubkey/`, as PyWorker does. */
export async function verifyVastSignature(publicPem: string, url: string, signature: string): Promise<boolean> {
  const body = publicPem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
  const key = await crypto.subtle.importKey("spki", fromBase64(body), RSA, false, ["verify"]);
  try {
    return await crypto.subtle.verify(RSA, key, fromBase64(signature), vastSignedMessage(url));
  } catch {
    return false;
  }
}

/** A fresh RSA-2048 key as a private JWK (development keys). */
export async function generateVastKey(): Promise<RsaPrivateJwk> {
  const pair = (await crypto.subtle.generateKey(
    { ...RSA, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  return RsaPrivateJwk.parse(await crypto.subtle.exportKey("jwk", pair.privateKey));
}
