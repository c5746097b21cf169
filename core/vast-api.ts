// Vast's instance REST API (PROTOCOL.md §6) as zod schemas: what the scaler sends and what it accepts
// back. The stand-in Vast (sim/vast) serves exactly these shapes, so the two cannot drift apart.
// Answers are parsed leniently where Vast is loose (nulls, extra fields are dropped) and strictly where
// a wrong value would cost money (ids, prices, labels).
import { z } from "zod";

const Id = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Dollars = z.number().finite().min(0).max(1e6);
const maybe = <T extends z.ZodType>(t: T) => t.nullable().optional();

// ---------------------------------------------------------------- offers

export const QueryOp = z.enum(["eq", "neq", "gt", "gte", "lt", "lte", "in", "notin"]);
export type QueryOp = z.infer<typeof QueryOp>;

/** `POST /bundles/`: field → {op: value}, plus paging and ordering. */
export const OfferQuery = z
  .object({
    limit: z.number().int().min(1).max(1000).optional(),
    order: z.array(z.tuple([z.string(), z.enum(["asc", "desc"])])).optional(),
    type: z.enum(["ondemand", "bid", "reserved"]).optional(),
  })
  .catchall(z.partialRecord(QueryOp, z.unknown()));
export type OfferQuery = z.infer<typeof OfferQuery>;

/** One rentable machine slot. `gpu_ram` is MB per GPU, `dph_total` $/h for the whole offer. */
export const VastOffer = z.object({
  id: Id,
  machine_id: maybe(Id),
  gpu_name: z.string().min(1).max(128),
  num_gpus: z.number().int().min(1).max(64),
  gpu_ram: z.number().finite().min(0),
  dph_total: Dollars,
  reliability: maybe(z.number().finite()),
  dlperf: maybe(z.number().finite()),
});
export type VastOffer = z.infer<typeof VastOffer>;

export const OfferSearchAnswer = z.object({ offers: z.array(VastOffer) });
export type OfferSearchAnswer = z.infer<typeof OfferSearchAnswer>;

// ---------------------------------------------------------------- instances

/** `PUT /asks/{offer_id}/`: rent an offer. `env` also carries port mappings as `"-p 3000:3000": "1"`. */
export const CreateInstanceRequest = z.object({
  client_id: z.literal("me"),
  image: z.string().min(1).optional(),
  template_hash_id: z.string().min(1).optional(),
  env: z.record(z.string(), z.string()),
  onstart: z.string().optional(),
  disk: z.number().finite().positive(),
  label: z.string().min(1).max(256),
  runtype: z.string().optional(),
  args: z.array(z.string()).optional(),
});
export type CreateInstanceRequest = z.infer<typeof CreateInstanceRequest>;

export const CreateInstanceAnswer = z.object({ success: z.literal(true), new_contract: Id });
export type CreateInstanceAnswer = z.infer<typeof CreateInstanceAnswer>;

const PortBinding = z.object({ HostIp: z.string().optional(), HostPort: z.string() });

/**
 * An instance as `GET /instances/` lists it: only the fields the scaler reads. `extra_env` (which holds
 * the instance's MASTER_TOKEN) is deliberately not part of the schema, so it is dropped at parse time
 * and can never reach a log line.
 */
export const VastInstance = z.object({
  id: Id,
  label: maybe(z.string()),
  /** Container state: null (provisioning), loading, running, stopped, frozen, exited, rebooting, unknown, offline. */
  actual_status: maybe(z.string()),
  /** What the owner asked for: running, stopped, frozen. */
  intended_status: maybe(z.string()),
  cur_state: maybe(z.string()),
  status_msg: maybe(z.string()),
  public_ipaddr: maybe(z.string()),
  ports: maybe(z.record(z.string(), z.array(PortBinding).nullable())),
  gpu_name: maybe(z.string()),
  num_gpus: maybe(z.number()),
  dph_total: maybe(Dollars),
  start_date: maybe(z.number()),
  machine_id: maybe(Id),
});
export type VastInstance = z.infer<typeof VastInstance>;

/** The list itself; each element is checked separately (see parseInstanceList). */
export const InstanceListAnswer = z.object({ instances: z.array(z.unknown()) });

export const InstanceState = z.enum(["running", "stopped"]);
export type InstanceState = z.infer<typeof InstanceState>;

/** `PUT /instances/{id}/` body (start, stop). */
export const SetStateRequest = z.object({ state: InstanceState });
export type SetStateRequest = z.infer<typeof SetStateRequest>;

/** Vast's bulk forms (newer SDKs): `PUT /instances/` `{state, ids}` and `DELETE /instances/` `{instance_ids}`. */
export const BulkStateRequest = z.object({ state: InstanceState, ids: z.array(Id).min(1).max(64) });
export type BulkStateRequest = z.infer<typeof BulkStateRequest>;
export const BulkDestroyRequest = z.object({ instance_ids: z.array(Id).min(1).max(64) });
export type BulkDestroyRequest = z.infer<typeof BulkDestroyRequest>;
export const BULK_MAX_IDS = 64;

/** `{"success": true}` or `{"success": false, "error": "resources_unavailable", "msg": ...}`. */
export const SuccessAnswer = z.object({
  success: z.boolean(),
  error: z.string().max(256).optional(),
  msg: z.string().max(4096).optional(),
});
export type SuccessAnswer = z.infer<typeof SuccessAnswer>;

/** Error bodies are JSON (`{"error": "no_such_instance", "msg": ...}`) except 429s, which are plain text. */
export const ErrorBody = z.object({
  success: z.boolean().optional(),
  error: z.string().max(256).optional(),
  msg: z.string().max(4096).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Error codes the scaler acts on. */
export const VAST_ERRORS = {
  resourcesUnavailable: "resources_unavailable",
  noSuchInstance: "no_such_instance",
  noSuchAsk: "no_such_ask",
  invalidArgs: "invalid_args",
} as const;

// ---------------------------------------------------------------- labels

/** Worker ids we mint (`w_` + base64url), as they may appear in a label. */
const WORKER_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The label that ties an instance to its ledger row: `<prefix><worker id>`. */
export function instanceLabel(prefix: string, workerId: string): string {
  return `${prefix}${workerId}`;
}

/** The worker id in one of our labels, or null if the instance is not ours. */
export function workerIdFromLabel(prefix: string, label: string | null | undefined): string | null {
  if (!label || !label.startsWith(prefix)) return null;
  const id = label.slice(prefix.length);
  return WORKER_ID.test(id) ? id : null;
}

export class InstanceListError extends Error {}

/**
 * Parses a list answer. Other people's instances that do not parse are skipped; one of ours that does
 * not parse fails the whole list, because dropping it would make its ledger row look "gone" and leave
 * a paid instance unaccounted for.
 */
export function parseInstanceList(body: unknown, labelPrefix: string): VastInstance[] {
  const list = InstanceListAnswer.safeParse(body);
  if (!list.success) throw new InstanceListError(`instance list: ${z.prettifyError(list.error)}`);
  const out: VastInstance[] = [];
  for (const raw of list.data.instances) {
    const parsed = VastInstance.safeParse(raw);
    if (parsed.success) {
      out.push(parsed.data);
      continue;
    }
    const label = typeof raw === "object" && raw !== null ? (raw as { label?: unknown }).label : undefined;
    if (typeof label === "string" && label.startsWith(labelPrefix)) {
      throw new InstanceListError(`one of our instances did not parse: ${z.prettifyError(parsed.error)}`);
    }
  }
  return out;
}
