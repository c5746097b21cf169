// The router's token keys (its JWKS), fetched at start-up, refreshed now and then so rotated-out
// keys disappear, and refetched at once (rate-limited) when a token names a kid we do not know yet.
import type { JWTVerifyGetKey } from "jose";
import { Jwks, keyLookup, verifyToken, type TokenClaims, type TokenExpectations } from "../../core/token.ts";
import { log } from "../../core/log.ts";

const FETCH_TIMEOUT_MS = 5_000;

export class TokenKeys {
  private lookup: JWTVerifyGetKey | null = null;
  private kidCount = 0;
  private lastFetchAt = -Infinity;
  private inflight: Promise<number> | null = null;

  constructor(
    private readonly routerUrl: string,
    /** An unknown kid triggers at most one refetch per this many ms (a stream of bogus kids cannot flood the router). */
    private readonly minRefetchMs = 10_000,
  ) {}

  get count(): number {
    return this.kidCount;
  }

  /** Fetches and installs the JWKS; returns how many keys it holds. Throws on network or shape errors. */
  fetch(): Promise<number> {
    this.inflight ??= this.fetchOnce().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async fetchOnce(): Promise<number> {
    this.lastFetchAt = performance.now();
    const res = await fetch(`${this.routerUrl}/.well-known/jwks.json`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`the router answered ${res.status} for its JWKS`);
    const parsed = Jwks.safeParse(await res.json());
    if (!parsed.success) throw new Error("the router's JWKS is not a valid key set");
    // An empty answer replaces the keys too: the router may have withdrawn them on purpose.
    this.lookup = parsed.data.keys.length > 0 ? keyLookup(parsed.data) : null;
    const changed = parsed.data.keys.length !== this.kidCount;
    this.kidCount = parsed.data.keys.length;
    if (changed) log("info", "token keys", { kids: parsed.data.keys.map((k) => k.kid) });
    return this.kidCount;
  }

  /** Verifies a request token; an unknown kid refetches the keys once (rate-limited) and retries. */
  async verify(token: string, expect: TokenExpectations): Promise<TokenClaims> {
    if (!this.lookup) throw new Error("no token keys");
    try {
      return await verifyToken(token, this.lookup, expect);
    } catch (e) {
      if ((e as { code?: string }).code !== "ERR_JWKS_NO_MATCHING_KEY") throw e;
      if (performance.now() - this.lastFetchAt < this.minRefetchMs) throw e;
      await this.fetch().catch(() => undefined);
      if (!this.lookup) throw e;
      return verifyToken(token, this.lookup, expect);
    }
  }
}
