// The load picture of each endpoint, from its Durable Object (`snapshot()` RPC), parsed by zod at
// this boundary like any other input, with bounded concurrency. Only the buckets the forecast reads
// (its longest window) are parsed: older history is not needed.
import { z } from "zod";
import { log } from "../../core/log.ts";
import { LOAD_BUCKET_MS, type EndpointSnapshot } from "../../core/snapshot.ts";

const num = z.number().finite();
const WorkerSnapshotSchema = z.object({
  id: z.string(),
  url: z.string().nullable(),
  phase: z.enum(["loading", "ready", "draining", "error", "stale"]),
  cur_load: num,
  pending_load: num,
  max_perf: num,
  last_report_age_s: num,
  loadtime: num,
  error_msg: z.string(),
  gpu_name: z.string().nullable(),
  version: z.string().nullable(),
  /** Drained at the scaler's request (phase "draining"), as opposed to the agent's own drain on SIGTERM. */
  drained: z.boolean().default(false),
});
const BucketSchema = z.object({ start: num, arrived: num, requests: num, served: num, rejected: num, held_peak: num });
const SnapshotSchema = z.object({
  endpoint: z.string(),
  now: num,
  workers: z.array(WorkerSnapshotSchema),
  buckets: z.array(z.unknown()),
  waiting: z.object({ requests: num, workload: num }),
  last_request_at: num.nullable(),
});

/** Parses a snapshot, keeping the buckets of the last `windowS` seconds. */
export function parseSnapshot(raw: unknown, windowS: number): EndpointSnapshot {
  const s = SnapshotSchema.parse(raw);
  const keep = Math.ceil((windowS * 1000) / LOAD_BUCKET_MS) + 1;
  return { ...s, buckets: z.array(BucketSchema).parse(s.buckets.slice(-keep)) };
}

export interface SnapshotSource {
  snapshot(endpoint: string): Promise<unknown>;
}

/** Snapshots by endpoint name; an endpoint whose object fails or answers nonsense is left out (logged). */
export async function fetchSnapshots(source: SnapshotSource, names: readonly string[], windowS: number, concurrency: number): Promise<Map<string, EndpointSnapshot>> {
  const out = new Map<string, EndpointSnapshot>();
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++]!;
      try {
        out.set(name, parseSnapshot(await source.snapshot(name), windowS));
      } catch (e) {
        log("warn", "endpoint snapshot failed", { endpoint: name, error: e instanceof z.ZodError ? "did not parse" : String(e).slice(0, 200) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
  return out;
}
