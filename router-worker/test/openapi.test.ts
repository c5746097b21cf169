// The OpenAPI document against the live routes: every route under /api/v1 is documented, every
// documented route answers, and what it answers fits the documented schema.
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { ApiError } from "../../core/admin-api.ts";
import { EndpointCreate, WorkerGroupCreate } from "../../core/endpoint.ts";
import app from "../src/index.ts";
import { ADMIN_ROUTES, openApiPath, type RouteDoc } from "../src/openapi.ts";
import { adminCall, call, json, makeEndpoint } from "./helpers.ts";

const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`;
const HOW_TO = "add an entry to ADMIN_ROUTES in router-worker/src/openapi.ts";

/** A body each known request schema accepts; routes with other bodies are checked with a refused empty body. */
const SAMPLE_BODIES = new Map<z.ZodType, (name: string) => unknown>([
  [EndpointCreate, (name) => ({ name: `${name}-new` })],
  [WorkerGroupCreate, () => ({ name: "second", image: "vllm/vllm-openai:latest" })],
]);

/** A fresh endpoint, worker group and key per route, so a route that deletes leaves the others theirs. */
async function pathFor(r: RouteDoc): Promise<{ path: string; name: string }> {
  const { name } = await makeEndpoint();
  await adminCall("POST", `/endpoints/${name}/workergroups`, { name: "main", image: "vllm/vllm-openai:latest" });
  const { id } = await json<{ id: string }>(await adminCall("POST", `/endpoints/${name}/keys`));
  const values: Record<string, string> = { name, id, group: "main" };
  const path = r.path.replace(/:([A-Za-z_]+)/g, (_m, p: string) => {
    if (!(p in values)) throw new Error(`no test value for :${p}: add one to pathFor in router-worker/test/openapi.test.ts`);
    return values[p]!;
  });
  return { path, name };
}

describe("OpenAPI document", () => {
  it("is served without a token, as OpenAPI 3.1 with every route's answers", async () => {
    const res = await call("/api/v1/openapi.json");
    expect(res.status).toBe(200);
    const doc = await json<{ openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>>; components: { schemas: Record<string, unknown> } }>(res);
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).length).toBeGreaterThan(5);
    for (const [path, ops] of Object.entries(doc.paths)) {
      expect(path.startsWith("/api/v1/")).toBe(true);
      for (const op of Object.values(ops)) expect(Object.keys(op.responses).some((s) => s.startsWith("2"))).toBe(true);
    }
    // Request bodies come from the schemas the handlers validate with, defaults and limits included.
    expect(doc.components.schemas.EndpointCreate).toMatchObject({ required: ["name"], additionalProperties: false });
    expect(doc.components.schemas.Endpoint).toMatchObject({ type: "object" });
    // Every $ref points at a component.
    for (const [, name] of JSON.stringify(doc).matchAll(/"#\/components\/schemas\/([^"]+)"/g)) expect(doc.components.schemas).toHaveProperty(name!);
  });

  it("documents every route under /api/v1, and documents no route that does not exist", () => {
    const live = new Set(app.routes.filter((r) => r.path.startsWith("/api/v1/") && r.method !== "ALL").map((r) => key(r.method, r.path)));
    const documented = new Set(ADMIN_ROUTES.map((r) => key(r.method, `/api/v1${r.path}`)));
    expect([...live].filter((k) => !documented.has(k)), `routes without documentation: ${HOW_TO}`).toEqual([]);
    expect([...documented].filter((k) => !live.has(k)), "documented routes that do not exist: remove or fix their ADMIN_ROUTES entry").toEqual([]);
    expect(new Set(ADMIN_ROUTES.map((r) => key(r.method, r.path))).size, "a route documented twice").toBe(ADMIN_ROUTES.length);
    for (const r of ADMIN_ROUTES) {
      const params = [...r.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]);
      expect(Object.keys(r.params?.shape ?? {}).sort(), `path parameters of ${key(r.method, r.path)}`).toEqual(params.sort());
      expect(openApiPath(r.path)).not.toContain(":");
    }
  });

  it.each(ADMIN_ROUTES.map((r) => [key(r.method, r.path), r] as const))("%s answers as documented", async (_k, r) => {
    const { path, name } = await pathFor(r);
    const sample = r.body ? SAMPLE_BODIES.get(r.body) : undefined;
    const res = r.body && !sample && !r.bodyOptional
      ? await call(`/api/v1${path}`, { method: r.method.toUpperCase(), headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" }, body: "{}" })
      : await adminCall(r.method.toUpperCase(), path, sample?.(name));
    const body = await json(res);
    if (res.ok) {
      expect(res.status).toBe(r.status ?? 200);
      const parsed = r.response.safeParse(body);
      expect(parsed.error?.issues ?? [], `the answer of ${key(r.method, r.path)} fits its documented schema`).toEqual([]);
    } else {
      // Only an empty body the schema refuses may fail here; never a missing route.
      expect(res.status).toBe(400);
      expect(ApiError.parse(body).message).not.toMatch(/^no route/);
    }
  });
});
