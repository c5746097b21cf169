// Endpoint and worker-group parameters (PROTOCOL.md §5), with Vast's names and defaults.
// The admin API validates with these; D1 stores them; the router and scaler read them back.
import { z } from "zod";
import { EndpointName } from "./wire.ts";

export const EndpointState = z.enum(["active", "suspended", "stopped"]);
export type EndpointState = z.infer<typeof EndpointState>;

const load = z.number().finite().min(0).max(1e12);
const seconds = z.number().finite().min(0).max(30 * 86_400);
const count = z.number().int().min(0).max(10_000);

/** Each parameter once, without defaults: the PATCH body is this, all optional. */
const endpointFields = {
  /** Capacity floor, workload units/s. */
  min_load: load,
  /** Floor of the stopped-but-loaded (cold) capacity, workload units/s. */
  min_cold_load: load,
  /** Hot capacity ≈ load / target_util. */
  target_util: z.number().finite().gt(0).max(1),
  /** Stopped capacity kept ≈ cold_mult × load. */
  cold_mult: z.number().finite().min(0).max(100),
  /** Stopped-but-loaded workers to keep. */
  cold_workers: count,
  /** Hard cap on workers (hot + cold + starting). */
  max_workers: count,
  /** A worker whose queue would exceed this many seconds is not routed to (and rejects with 429). */
  max_queue_time: seconds.gt(0),
  target_queue_time: seconds,
  /** Seconds without requests after which the endpoint scales to zero; null: never. */
  inactivity_timeout: seconds.nullable(),
  endpoint_state: EndpointState,
  /** Hard cap on the summed $/h of billed instances; null: no cap. */
  max_hourly_cost: z.number().finite().min(0).max(1e6).nullable(),
};

export const ENDPOINT_DEFAULTS = {
  min_load: 0,
  min_cold_load: 0,
  target_util: 0.9,
  cold_mult: 2.5,
  cold_workers: 5,
  max_workers: 20,
  max_queue_time: 30,
  target_queue_time: 10,
  inactivity_timeout: null,
  endpoint_state: "active",
  max_hourly_cost: null,
} as const satisfies { [K in keyof typeof endpointFields]: z.infer<(typeof endpointFields)[K]> };

export const EndpointParams = z.object(endpointFields);
export type EndpointParams = z.infer<typeof EndpointParams>;

/** `POST /api/v1/endpoints`: a name and any parameters; the rest take Vast's defaults. */
export const EndpointCreate = EndpointParams.partial()
  .extend({ name: EndpointName, endpoint_name: EndpointName.optional() })
  .strict()
  .transform(({ endpoint_name: _alias, ...rest }) => ({ ...ENDPOINT_DEFAULTS, ...rest }));
export type EndpointCreate = z.infer<typeof EndpointCreate>;

/** `PATCH /api/v1/endpoints/:name`: any subset of the parameters. */
export const EndpointPatch = EndpointParams.partial()
  .strict()
  .refine((p) => Object.keys(p).length > 0, "nothing to change");
export type EndpointPatch = z.infer<typeof EndpointPatch>;

/** An endpoint as the admin API returns it. */
export const Endpoint = EndpointParams.extend({
  id: z.number().int(),
  name: EndpointName,
  created_at: z.number(),
  updated_at: z.number(),
});
export type Endpoint = z.infer<typeof Endpoint>;

/** Offer filter in Vast's query language: field → {op: value}. */
export const SearchParams = z.record(
  z.string().max(64),
  z.record(z.enum(["eq", "neq", "gt", "gte", "lt", "lte", "in", "notin"]), z.unknown()),
);
export type SearchParams = z.infer<typeof SearchParams>;

/** A group's weight among the endpoint's primary groups. */
const Share = z.number().finite().min(0).max(1e6);
export const GroupRole = z.enum(["primary", "overflow"]);
export type GroupRole = z.infer<typeof GroupRole>;

/** `POST /api/v1/endpoints/:name/workergroups`. */
export const WorkerGroupCreate = z
  .object({
    name: EndpointName.default("default"),
    template_hash: z.string().min(1).max(128).optional(),
    image: z.string().min(1).max(512).optional(),
    launch_args: z.string().max(8192).optional(),
    /** Extra environment for the instance (the scaler adds the agent's own). */
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).max(128), z.string().max(4096)).default({}),
    search_params: SearchParams.default({}),
    /** Minimum GPU memory, GB. */
    gpu_ram: z.number().finite().min(0).max(10_000).nullable().default(null),
    disk: z.number().finite().min(1).max(10_000).default(32),
    cold_workers: count.nullable().default(null),
    max_workers: count.nullable().default(null),
    traffic_share: Share.default(1),
    role: GroupRole.default("primary"),
  })
  .strict()
  .refine((g) => g.template_hash !== undefined || g.image !== undefined, "template_hash or image is required");
export type WorkerGroupCreate = z.infer<typeof WorkerGroupCreate>;

/** `PATCH /api/v1/endpoints/:name/workergroups/:group`: shares (rollouts), role, limits, placement. */
export const WorkerGroupPatch = z
  .object({
    traffic_share: Share,
    role: GroupRole,
    cold_workers: count.nullable(),
    max_workers: count.nullable(),
    search_params: SearchParams,
    gpu_ram: z.number().finite().min(0).max(10_000).nullable(),
  })
  .partial()
  .strict()
  .refine((p) => Object.keys(p).length > 0, "nothing to change");
export type WorkerGroupPatch = z.infer<typeof WorkerGroupPatch>;

export const WorkerGroup = z.object({
  id: z.number().int(),
  endpoint: EndpointName,
  name: EndpointName,
  template_hash: z.string().nullable(),
  image: z.string().nullable(),
  launch_args: z.string().nullable(),
  env: z.record(z.string(), z.string()),
  search_params: SearchParams,
  gpu_ram: z.number().nullable(),
  disk: z.number(),
  cold_workers: z.number().int().nullable(),
  max_workers: z.number().int().nullable(),
  traffic_share: z.number(),
  role: GroupRole,
  created_at: z.number(),
});
export type WorkerGroup = z.infer<typeof WorkerGroup>;
