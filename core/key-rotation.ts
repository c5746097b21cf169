// Rotating the token signing keys without downtime. TOKEN_KEYS lists private keys: the first signs,
// every one is published in the JWKS. An agent that meets a token with a kid it does not know
// fetches the JWKS again, so a new key can sign at once; the old one stays listed until every token
// it signed has expired (TOKEN_TTL_MAX_S), then it is retired.
import { generateTokenKey, TokenKeySet } from "./token.ts";

/** A kid that says when the key was made, unique among `taken`. */
export function nextKid(now: Date, taken: readonly string[]): string {
  const base = `k-${now.toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-")}`;
  let kid = base;
  for (let i = 2; taken.includes(kid); i++) kid = `${base}-${i}`;
  return kid;
}

/** The set with a fresh key first (it signs from the next deploy on) and the others kept (still verify). */
export async function rotateTokenKeys(current: TokenKeySet, now: Date): Promise<TokenKeySet> {
  const fresh = await generateTokenKey(nextKid(now, current.keys.map((k) => k.kid)));
  // The set holds at most 8 keys: the oldest beyond that are dropped (they were retired long ago in practice).
  return TokenKeySet.parse({ keys: [fresh, ...current.keys].slice(0, 8) });
}

/** Only the signing key: after TOKEN_TTL_MAX_S, no valid token was signed by the others. */
export function retireTokenKeys(current: TokenKeySet): TokenKeySet {
  return TokenKeySet.parse({ keys: current.keys.slice(0, 1) });
}
