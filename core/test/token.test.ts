import { SignJWT, base64url } from "jose";
import { describe, expect, it } from "vitest";
import { generateTokenKey, keyLookup, loadTokenSigner, verifyToken } from "../token.ts";
import { generateVastKey, loadVastSigner, verifyVastSignature, vastSignedMessage } from "../vast-signature.ts";

const grant = { url: "http://10.0.0.1:3000", endpoint: "llama", reqnum: 7, request_idx: 3, cost: 100 };

async function signerWith(...kids: string[]) {
  const keys = await Promise.all(kids.map((k) => generateTokenKey(k)));
  return loadTokenSigner(JSON.stringify({ keys }));
}

describe("request tokens", () => {
  it("sign in one place and verify with only the JWKS, binding audience and endpoint", async () => {
    const signer = await signerWith("k1");
    const now = 1_700_000_000;
    const token = await signer.sign(grant, 60, now);
    const claims = await verifyToken(token, keyLookup(signer.jwks), { audience: grant.url, endpoint: "llama", nowS: now + 1, skewS: 5 });
    expect(claims).toEqual({ aud: grant.url, endpoint: "llama", reqnum: 7, request_idx: 3, cost: 100, iat: now, exp: now + 60 });
    expect(JSON.stringify(signer.jwks)).not.toContain('"d"');
  });

  it("gives a fractional replay_timeout or clock a whole-second iat and exp the verifier accepts", async () => {
    const signer = await signerWith("k1");
    const token = await signer.sign(grant, 30.5, 1_700_000_000.7);
    const claims = await verifyToken(token, keyLookup(signer.jwks), { audience: grant.url, endpoint: "llama", nowS: 1_700_000_001, skewS: 5 });
    expect([claims.iat, claims.exp]).toEqual([1_700_000_000, 1_700_000_030]);
  });

  it.each([
    ["expired", { nowS: 1_700_000_000 + 70 }],
    ["issued in the future", { nowS: 1_700_000_000 - 60 }],
    ["another worker", { audience: "http://10.0.0.2:3000" }],
    ["another endpoint", { endpoint: "other" }],
  ])("refuses a token that is %s", async (_what, over) => {
    const signer = await signerWith("k1");
    const token = await signer.sign(grant, 60, 1_700_000_000);
    const expect_ = { audience: grant.url, endpoint: "llama", nowS: 1_700_000_001, skewS: 5, ...over };
    await expect(verifyToken(token, keyLookup(signer.jwks), expect_)).rejects.toThrow();
  });

  it("refuses alg none, HMAC keyed with the public key, and unknown kids", async () => {
    const signer = await signerWith("k1");
    const now = 1_700_000_000;
    const opts = { audience: grant.url, endpoint: "llama", nowS: now, skewS: 5 };
    const enc = (o: unknown) => base64url.encode(JSON.stringify(o));
    const claims = { endpoint: "llama", reqnum: 1, request_idx: 1, cost: 1, aud: grant.url, iat: now, exp: now + 60 };
    const none = `${enc({ alg: "none", kid: "k1" })}.${enc(claims)}.`;
    await expect(verifyToken(none, keyLookup(signer.jwks), opts)).rejects.toThrow();
    const hmacKey = new TextEncoder().encode(JSON.stringify(signer.jwks.keys[0]));
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: "k1" }).sign(hmacKey);
    await expect(verifyToken(hs, keyLookup(signer.jwks), opts)).rejects.toThrow();
    const other = await signerWith("k2");
    await expect(verifyToken(await other.sign(grant, 60, now), keyLookup(signer.jwks), opts)).rejects.toThrow();
  });

  it("keeps tokens of the previous key valid while both are published (rotation)", async () => {
    const [oldKey, newKey] = await Promise.all([generateTokenKey("old"), generateTokenKey("new")]);
    const before = await loadTokenSigner(JSON.stringify({ keys: [oldKey] }));
    const during = await loadTokenSigner(JSON.stringify({ keys: [newKey, oldKey] }));
    const now = 1_700_000_000;
    const opts = { audience: grant.url, endpoint: "llama", nowS: now, skewS: 5 };
    expect(during.kid).toBe("new");
    await verifyToken(await before.sign(grant, 60, now), keyLookup(during.jwks), opts);
    await verifyToken(await during.sign(grant, 60, now), keyLookup(during.jwks), opts);
  });

  it("explains a malformed key secret instead of failing obscurely", async () => {
    await expect(loadTokenSigner("not json")).rejects.toThrow(/TOKEN_KEYS is not JSON/);
    await expect(loadTokenSigner(JSON.stringify({ keys: [] }))).rejects.toThrow(/TOKEN_KEYS is not a valid key set/);
  });
});

describe("Vast's URL signature", () => {
  it("signs exactly Python's json.dumps({'url': url}, indent=4) and verifies against the SPKI PEM", async () => {
    expect(new TextDecoder().decode(vastSignedMessage("http://1.2.3.4:5"))).toBe('{\n    "url": "http://1.2.3.4:5"\n}');
    const signer = await loadVastSigner(JSON.stringify(await generateVastKey()));
    const sig = await signer.sign("http://1.2.3.4:5");
    expect(await verifyVastSignature(signer.publicPem, "http://1.2.3.4:5", sig)).toBe(true);
    expect(await verifyVastSignature(signer.publicPem, "http://1.2.3.4:6", sig)).toBe(false);
  });
});
