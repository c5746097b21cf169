// The admin API's OpenAPI 3.1 document, generated from the zod schemas the handlers validate with and
// answer in (zod's own JSON Schema output; no second copy of any shape). `ADMIN_ROUTES` is the one list
// of documented routes: test/openapi.test.ts fails when a route under /api/v1 is missing from it, or
// when an entry here has no route. Adding a route = adding one entry below.
import { Hono } from "hono";
import { z } from "zod";
import * as answers from "../../core/admin-api.ts";
import { Endpoint, EndpointCreate, EndpointPatch, WorkerGroup, WorkerGroupCreate, WorkerGroupPatch } from "../../core/endpoint.ts";
import { GroupMetrics } from "../../core/group-metrics.ts";
import { ByGroup, ByKey, ByName, EventsQuery, WorkerAttach } from "./admin.ts";

type Method = "get" | "post" | "patch" | "delete";

export interface RouteDoc {
  method: Method;
  /** Under /api/v1, with Hono's `:param` segments. */
  path: string;
  summary: string;
  /** Path parameters: one field per `:param`. */
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The body may be left out (it then stands for `{}`). */
  bodyOptional?: true;
  /** Status of the success answer (200 unless given). */
  status?: 200 | 201;
  response: z.ZodType;
  /** Answered without the admin token. */
  public?: true;
  /** Can answer 409: the name is taken. */
  conflict?: true;
}

/** Every route under /api/v1, in the order a reader meets them. */
export const ADMIN_ROUTES: RouteDoc[] = [
  { method: "get", path: "/openapi.json", summary: "This document", response: z.record(z.string(), z.unknown()), public: true },
  { method: "get", path: "/overview", summary: "Every endpoint at a glance: workers by phase, capacity, load, $/h now and spent today", response: answers.Overview },
  { method: "post", path: "/endpoints", summary: "Create an endpoint (unset parameters take Vast's defaults)", body: EndpointCreate, status: 201, conflict: true, response: Endpoint },
  { method: "get", path: "/endpoints", summary: "List endpoints", response: answers.EndpointList },
  { method: "get", path: "/endpoints/:name", summary: "Show an endpoint", params: ByName, response: Endpoint },
  { method: "patch", path: "/endpoints/:name", summary: "Change an endpoint's parameters", params: ByName, body: EndpointPatch, response: Endpoint },
  { method: "delete", path: "/endpoints/:name", summary: "Delete an endpoint (routing stops at once; the scaler releases its instances)", params: ByName, response: Endpoint },
  { method: "post", path: "/endpoints/:name/workergroups", summary: "Create a worker group", params: ByName, body: WorkerGroupCreate, status: 201, conflict: true, response: WorkerGroup },
  { method: "get", path: "/endpoints/:name/workergroups", summary: "List an endpoint's worker groups", params: ByName, response: answers.WorkerGroupList },
  { method: "patch", path: "/endpoints/:name/workergroups/:group", summary: "Change a group's traffic share (applies on the next route), role, limits or placement", params: ByGroup, body: WorkerGroupPatch, response: WorkerGroup },
  { method: "delete", path: "/endpoints/:name/workergroups/:group", summary: "Delete a group: it drains (no new routes), then the scaler releases its instances", params: ByGroup, response: WorkerGroup },
  { method: "get", path: "/endpoints/:name/workergroups/:group/metrics", summary: "A group's last hour: requests, workload, realised share, queue wait p50/p99, max_perf per GPU, $/h, workload per dollar", params: ByGroup, response: GroupMetrics },
  { method: "post", path: "/endpoints/:name/keys", summary: "Mint an API key (shown once)", params: ByName, status: 201, response: answers.KeyCreated },
  { method: "delete", path: "/endpoints/:name/keys/:id", summary: "Revoke an API key", params: ByKey, response: answers.KeyRevoked },
  { method: "post", path: "/endpoints/:name/workers", summary: "Mint a credential for a box attached by hand", params: ByName, body: WorkerAttach, bodyOptional: true, status: 201, response: answers.WorkerAttached },
  { method: "get", path: "/endpoints/:name/workers", summary: "Live workers, from their reports", params: ByName, response: answers.LiveWorkerList },
  { method: "get", path: "/endpoints/:name/instances", summary: "Rented instances (the scaler's ledger) and their cost", params: ByName, response: answers.InstanceList },
  { method: "get", path: "/endpoints/:name/metrics", summary: "Load against capacity in 10-s buckets, and the scaler's decisions", params: ByName, query: answers.MetricsQuery, response: answers.EndpointMetrics },
  { method: "get", path: "/endpoints/:name/events", summary: "The event log, newest first (page with `before`)", params: ByName, query: EventsQuery, response: answers.EventList },
];

/** `/endpoints/:name` → `/endpoints/{name}`. */
export const openApiPath = (path: string) => path.replace(/:([A-Za-z_]+)/g, "{$1}");

const BASE = "/api/v1";
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Named schemas become components; the rest is inlined. Names are the exported names. */
function components(): { schemas: Record<string, unknown>; nameOf: Map<z.ZodType, string> } {
  const nameOf = new Map<z.ZodType, string>();
  const inputs = z.registry<{ id: string }>();
  const outputs = z.registry<{ id: string }>();
  const bodies = { EndpointCreate, EndpointPatch, WorkerGroupCreate, WorkerGroupPatch, WorkerAttach };
  for (const [name, schema] of Object.entries(bodies)) {
    nameOf.set(schema, name);
    inputs.add(schema, { id: name });
  }
  const named: Record<string, z.ZodType> = { ...answers, GroupMetrics, Endpoint, WorkerGroup };
  for (const [name, schema] of Object.entries(named)) {
    if (!(schema instanceof z.ZodType) || name === "MetricsQuery") continue;
    nameOf.set(schema, name);
    outputs.add(schema, { id: name });
  }
  const options = { target: "draft-2020-12", unrepresentable: "any", uri: (id: string) => `#/components/schemas/${id}` } as const;
  const strip = (all: Record<string, Record<string, unknown>>) =>
    Object.fromEntries(Object.entries(all).map(([k, { $schema: _s, $id: _i, ...rest }]) => [k, rest]));
  return {
    schemas: {
      ...strip(z.toJSONSchema(outputs, { ...options, io: "output" }).schemas),
      ...strip(z.toJSONSchema(inputs, { ...options, io: "input" }).schemas),
    },
    nameOf,
  };
}

function schemaOf(schema: z.ZodType, io: "input" | "output", nameOf: Map<z.ZodType, string>): unknown {
  const name = nameOf.get(schema);
  if (name) return ref(name);
  const { $schema: _s, ...rest } = z.toJSONSchema(schema, { target: "draft-2020-12", unrepresentable: "any", io });
  return rest;
}

function parameters(where: "path" | "query", shape: z.ZodObject | undefined) {
  return Object.entries(shape?.shape ?? {}).map(([name, field]) => ({
    name,
    in: where,
    required: where === "path" || !(field as z.ZodType).safeParse(undefined).success,
    schema: schemaOf(field as z.ZodType, "input", new Map()),
  }));
}

const errorAnswer = (description: string) => ({ description, content: { "application/json": { schema: ref("ApiError") } } });

/** The whole document; built once per isolate. */
export function openApiDocument(): Record<string, unknown> {
  const { schemas, nameOf } = components();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ADMIN_ROUTES) {
    const status = String(r.status ?? 200);
    const op: Record<string, unknown> = {
      operationId: `${r.method}${r.path.replace(/[/:{}.]+(.)?/g, (_m, c: string | undefined) => (c ?? "").toUpperCase())}`,
      summary: r.summary,
      parameters: [...parameters("path", r.params), ...parameters("query", r.query)],
      responses: {
        [status]: { description: "OK", content: { "application/json": { schema: schemaOf(r.response, "output", nameOf) } } },
        ...(r.body ? { "400": errorAnswer("The body does not fit the schema (the message says where)"), "415": errorAnswer("The body is not JSON") } : {}),
        ...(r.public ? {} : { "401": errorAnswer("No or a wrong admin token") }),
        ...(r.params ? { "404": errorAnswer("No such endpoint (or key)") } : {}),
        ...(r.conflict ? { "409": errorAnswer("The name is taken") } : {}),
      },
      ...(r.public ? { security: [] } : {}),
    };
    if (r.body) {
      op.requestBody = { required: !r.bodyOptional, content: { "application/json": { schema: schemaOf(r.body, "input", nameOf) } } };
    }
    (paths[BASE + openApiPath(r.path)] ??= {})[r.method] = op;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "GPU serverless platform: admin API",
      version: "1",
      description: "Endpoints, worker groups, keys, live workers, instances, metrics and events. Every route but this document needs `Authorization: Bearer <ADMIN_TOKEN>`. Errors are `{code, message}`.",
    },
    servers: [{ url: "/" }],
    security: [{ adminToken: [] }],
    paths,
    components: { securitySchemes: { adminToken: { type: "http", scheme: "bearer" } }, schemas },
  };
}

let cached: Record<string, unknown> | undefined;

/** `GET /api/v1/openapi.json`: public, it holds no data; clients can read it before they have a token. */
export const openApi = new Hono<{ Bindings: Env }>().get("/openapi.json", (c) => c.json((cached ??= openApiDocument())));
