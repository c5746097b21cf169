// Remembers which `reqnum`s this worker has accepted, for as long as their tokens live, in bounded
// memory. Pure: the caller passes `nowS`.
//
// Bounded memory without a replay hole: when full, the oldest entry is evicted and its reqnum raises
// a watermark; every reqnum at or below the watermark is refused from then on. The router issues
// reqnums strictly increasing per endpoint, so only tokens older than anything still remembered are
// refused, and only once the worker has taken `capacity` requests within one token lifetime.

export type ReplayVerdict = "fresh" | "replayed" | "below_watermark" | "before_start";

export class ReplayGuard {
  /** reqnum → expiry (s). Insertion order ≈ arrival order, so the front holds the oldest entries. */
  private readonly seen = new Map<number, number>();
  private watermark = -1;

  constructor(
    readonly capacity: number,
    /** Tokens issued before this (s) are refused: a restarted agent has forgotten what it accepted before. */
    readonly notBeforeS: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("capacity must be a positive integer");
  }

  get size(): number {
    return this.seen.size;
  }

  /**
   * Accepts `reqnum` once: "fresh" records it until `expiresAtS`; any other verdict means refuse.
   * `issuedAtS` is the token's `iat`.
   */
  admit(reqnum: number, issuedAtS: number, expiresAtS: number, nowS: number): ReplayVerdict {
    this.prune(nowS);
    if (issuedAtS < this.notBeforeS) return "before_start";
    if (reqnum <= this.watermark) return "below_watermark";
    if (this.seen.has(reqnum)) return "replayed";
    while (this.seen.size >= this.capacity) {
      const [oldest] = this.seen.keys();
      if (oldest === undefined) break;
      this.seen.delete(oldest);
      this.watermark = Math.max(this.watermark, oldest);
    }
    this.seen.set(reqnum, expiresAtS);
    return "fresh";
  }

  /** Drops expired entries from the front (entries behind a live one wait their turn: memory stays bounded). */
  private prune(nowS: number): void {
    for (const [reqnum, exp] of this.seen) {
      if (exp >= nowS) break;
      this.seen.delete(reqnum);
    }
  }
}
