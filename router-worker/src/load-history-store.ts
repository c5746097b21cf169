// Where an endpoint's load history lives between evictions: one SQLite row per 10-s bucket, an hour
// kept, in the endpoint object's storage. The object decides when (a bucket as it closes, the open one
// by an alarm); this module knows how.
import { LOAD_BUCKET_MS, LOAD_HISTORY_BUCKETS, LoadBucket } from "../../core/snapshot.ts";
import type { SqlWrite } from "./worker-roster.ts";

/** Created with the object's other tables on its first write, and on restore for objects that predate it. */
export const LOAD_BUCKETS_TABLE = `CREATE TABLE IF NOT EXISTS load_buckets (start INTEGER PRIMARY KEY, bucket TEXT NOT NULL)`;

export class LoadHistoryStore {
  constructor(
    private readonly sql: SqlStorage,
    private readonly write: SqlWrite,
  ) {}

  /** A bucket of the load history, stored (again, if stored while open). */
  store(bucket: LoadBucket): void {
    this.write(`INSERT OR REPLACE INTO load_buckets (start, bucket) VALUES (?, ?)`, bucket.start, JSON.stringify(bucket));
  }

  /** A bucket that closed, stored; those older than the history's hour go (once a bucket, not each flush). */
  close(bucket: LoadBucket): void {
    this.store(bucket);
    this.write(`DELETE FROM load_buckets WHERE start <= ?`, bucket.start - LOAD_HISTORY_BUCKETS * LOAD_BUCKET_MS);
  }

  /** The stored buckets of the last hour, oldest first; a row that does not parse is skipped. */
  restore(now: number): LoadBucket[] {
    this.sql.exec(LOAD_BUCKETS_TABLE);
    const since = now - LOAD_HISTORY_BUCKETS * LOAD_BUCKET_MS;
    const out: LoadBucket[] = [];
    for (const row of this.sql.exec<{ bucket: string }>(`SELECT bucket FROM load_buckets WHERE start > ? ORDER BY start`, since)) {
      try {
        const parsed = LoadBucket.safeParse(JSON.parse(row.bucket));
        if (parsed.success) out.push(parsed.data);
      } catch {
        // not JSON: skipped like any row that does not parse
      }
    }
    return out;
  }
}
