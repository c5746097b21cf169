// max_perf: workload units the model server serves per second, measured with rounds of concurrent
// standard requests (each request's workload is its own max_tokens), the best round winning as in
// PyWorker. Cached on disk: a stopped-then-restarted box reports at once instead of re-measuring.
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

export interface BenchSettings {
  rounds: number;
  concurrency: number;
  seconds: number;
}

export interface BenchResult {
  max_perf: number;
  /** Workload units per second, per round. */
  rounds: number[];
  requests: number;
  failures: number;
}

/**
 * Runs the rounds. `send(i)` performs the i-th request and returns the workload it served
 * (0 when it failed). A round lasts `seconds` plus the time its last requests take to finish.
 */
export async function measure(send: (i: number) => Promise<number>, s: BenchSettings, signal?: AbortSignal): Promise<BenchResult> {
  const rounds: number[] = [];
  let next = 0;
  let requests = 0;
  let failures = 0;
  for (let r = 0; r < s.rounds && !signal?.aborted; r++) {
    const started = performance.now();
    const deadline = started + s.seconds * 1000;
    let served = 0;
    const client = async () => {
      do {
        const got = await send(next++);
        requests++;
        if (got > 0) served += got;
        else failures++;
      } while (performance.now() < deadline && !signal?.aborted);
    };
    await Promise.all(Array.from({ length: s.concurrency }, client));
    rounds.push(served / ((performance.now() - started) / 1000));
  }
  const max_perf = Math.max(0, ...rounds);
  if (!(max_perf > 0)) throw new Error(`benchmark failed: none of ${requests} requests succeeded`);
  return { max_perf, rounds, requests, failures };
}

export const BenchCache = z.object({
  version: z.literal(1),
  key: z.string(),
  max_perf: z.number().finite().positive(),
  rounds: z.array(z.number().finite()),
  measured_at: z.string(),
});
export type BenchCache = z.infer<typeof BenchCache>;

const FILE = "benchmark.json";

/** What the measurement depends on: a change (another backend, payload or load) measures again. */
export function benchKey(parts: unknown): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 32);
}

/** The cached result for `key`, or null (no file, another key, or a file that does not parse). */
export async function readBenchCache(dir: string, key: string): Promise<BenchCache | null> {
  try {
    const parsed = BenchCache.safeParse(JSON.parse(await readFile(join(dir, FILE), "utf8")));
    return parsed.success && parsed.data.key === key ? parsed.data : null;
  } catch {
    return null;
  }
}

export async function writeBenchCache(dir: string, entry: BenchCache): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Write then rename: a box stopped mid-write never leaves a half file that would parse as garbage.
  const tmp = join(dir, `${FILE}.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(entry, null, 2));
  await rename(tmp, join(dir, FILE));
}
