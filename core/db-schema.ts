// The D1 schema, owned by drizzle: `npm run db:generate` turns changes here into migrations/NNNN_*.sql,
// which wrangler applies (never drizzle-kit push; never edit an applied migration).
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const now = sql`(unixepoch('subsec') * 1000)`;

export const endpoints = sqliteTable(
  "endpoints",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    name: text("name").notNull(),
    min_load: real("min_load").notNull().default(0),
    min_cold_load: real("min_cold_load").notNull().default(0),
    target_util: real("target_util").notNull().default(0.9),
    cold_mult: real("cold_mult").notNull().default(2.5),
    cold_workers: integer("cold_workers").notNull().default(5),
    max_workers: integer("max_workers").notNull().default(20),
    max_queue_time: real("max_queue_time").notNull().default(30),
    target_queue_time: real("target_queue_time").notNull().default(10),
    inactivity_timeout: real("inactivity_timeout"),
    endpoint_state: text("endpoint_state", { enum: ["active", "suspended", "stopped"] }).notNull().default("active"),
    max_hourly_cost: real("max_hourly_cost"),
    created_at: integer("created_at").notNull().default(now),
    updated_at: integer("updated_at").notNull().default(now),
    /** Soft delete: the scaler still has to release the endpoint's instances. */
    deleted_at: integer("deleted_at"),
  },
  (t) => [uniqueIndex("endpoints_live_name").on(t.name).where(sql`deleted_at IS NULL`)],
);

export const workerGroups = sqliteTable(
  "worker_groups",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    endpoint_id: integer("endpoint_id")
      .notNull()
      .references(() => endpoints.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    template_hash: text("template_hash"),
    image: text("image"),
    launch_args: text("launch_args"),
    env: text("env", { mode: "json" }).$type<Record<string, string>>().notNull().default({}),
    search_params: text("search_params", { mode: "json" }).$type<Record<string, Record<string, unknown>>>().notNull().default({}),
    gpu_ram: real("gpu_ram"),
    disk: real("disk").notNull().default(32),
    cold_workers: integer("cold_workers"),
    max_workers: integer("max_workers"),
    /** Weight among the endpoint's primary groups (rollouts: 90/10, then 100/0). */
    traffic_share: real("traffic_share").notNull().default(1),
    /** overflow: serves only what the primary groups cannot take under max_queue_time. */
    role: text("role", { enum: ["primary", "overflow"] }).notNull().default("primary"),
    created_at: integer("created_at").notNull().default(now),
    updated_at: integer("updated_at").notNull().default(now),
    /** Deleted: drains (no new routes), then the scaler releases its instances. */
    deleted_at: integer("deleted_at"),
  },
  (t) => [uniqueIndex("worker_groups_endpoint_name").on(t.endpoint_id, t.name).where(sql`deleted_at IS NULL`)],
);

/** Endpoint API keys, stored as SHA-256 hashes only; the plain key is shown once at creation. */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    endpoint_id: integer("endpoint_id")
      .notNull()
      .references(() => endpoints.id, { onDelete: "cascade" }),
    key_hash: text("key_hash").notNull(),
    created_at: integer("created_at").notNull().default(now),
    revoked_at: integer("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_hash").on(t.key_hash), index("api_keys_endpoint").on(t.endpoint_id)],
);

/**
 * Every worker the platform knows: boxes attached by hand and instances the scaler rents.
 * For instances this is also the ledger row, written before the Vast call (the scaler extends it).
 */
export const workers = sqliteTable(
  "workers",
  {
    id: text("id").primaryKey(),
    endpoint_id: integer("endpoint_id")
      .notNull()
      .references(() => endpoints.id),
    group_id: integer("group_id").references(() => workerGroups.id),
    kind: text("kind", { enum: ["manual", "instance"] }).notNull(),
    /** SHA-256 of the worker's mtoken. */
    mtoken_hash: text("mtoken_hash").notNull(),
    vast_instance_id: integer("vast_instance_id"),
    /** Manual workers: active. Instances: our intent, written before each Vast call (core/ledger-reconcile.ts). */
    status: text("status").notNull().default("active"),
    created_at: integer("created_at").notNull().default(now),
    updated_at: integer("updated_at").notNull().default(now),
    closed_at: integer("closed_at"),
    // ---- instance ledger (the scaler): what it rented, why and how it went.
    /** The offer the create was sent for: one row, one create, never repeated. */
    offer_id: integer("offer_id"),
    gpu_name: text("gpu_name"),
    dph_total: real("dph_total"),
    /** Last measured max_perf (kept while the instance is stopped). */
    perf: real("perf"),
    /** When the current intent (status) was written. */
    state_since: integer("state_since"),
    /** First time the agent reported ready (load-time learning). */
    ready_at: integer("ready_at"),
    start_failures: integer("start_failures").notNull().default(0),
    last_start_failure_at: integer("last_start_failure_at"),
    close_reason: text("close_reason"),
  },
  (t) => [
    uniqueIndex("workers_vast_instance").on(t.vast_instance_id),
    index("workers_endpoint").on(t.endpoint_id),
    // The scaler reads every open instance row each tick.
    index("workers_open_instances").on(t.kind, t.closed_at),
  ],
);

/** One scaler at a time per endpoint: cron ticks and scale-now calls take the lease before acting. */
export const scalerLeases = sqliteTable("scaler_leases", {
  endpoint_id: integer("endpoint_id").primaryKey(),
  holder: text("holder").notNull(),
  expires_at: integer("expires_at").notNull(),
});

/** Measured max_perf per GPU type in a worker group (median of its ready workers when last seen). */
export const gpuPerf = sqliteTable(
  "gpu_perf",
  {
    group_id: integer("group_id")
      .notNull()
      .references(() => workerGroups.id, { onDelete: "cascade" }),
    gpu_name: text("gpu_name").notNull(),
    perf: real("perf").notNull(),
    updated_at: integer("updated_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.group_id, t.gpu_name] })],
);

/** A group's recent load times (creation to ready, seconds; newest last), for the stuck-loading deadline. */
export const groupLoadTimes = sqliteTable("group_load_times", {
  group_id: integer("group_id")
    .primaryKey()
    .references(() => workerGroups.id, { onDelete: "cascade" }),
  seconds: text("seconds", { mode: "json" }).$type<number[]>().notNull().default([]),
  updated_at: integer("updated_at").notNull().default(now),
});

/** What happened and why: admin changes, scaling decisions, Vast calls and their outcomes. */
export const events = sqliteTable(
  "events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at").notNull().default(now),
    endpoint: text("endpoint"),
    kind: text("kind").notNull(),
    action: text("action").notNull(),
    reason: text("reason").notNull().default(""),
    outcome: text("outcome").notNull().default("ok"),
    detail: text("detail", { mode: "json" }).$type<Record<string, unknown>>(),
  },
  (t) => [index("events_endpoint_at").on(t.endpoint, t.at)],
);
