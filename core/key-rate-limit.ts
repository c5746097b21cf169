// Per-key rate limit on /route/: a token bucket per API key hash, refilled at `ratePerS` and holding
// at most twice that (a client may burst two seconds' worth). Pure, with explicit `now`: the
// endpoint's Durable Object owns one and keeps it in memory (an eviction refills every bucket,
// which errs towards serving).
export class KeyRateLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly ratePerS: number) {}

  /** Takes a token for `key` at `now` (ms): 0 if allowed, else the seconds until the next token. */
  take(key: string, now: number): number {
    const burst = this.ratePerS * 2;
    const b = this.buckets.get(key) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * this.ratePerS);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / this.ratePerS;
  }
}
