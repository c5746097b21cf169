// The admin API from the browser: the token the operator signed in with (sessionStorage: gone when
// the tab closes) sent as a Bearer, and every answer parsed by the schema the router answers with.
import type { z } from "zod";
import { ApiError, EndpointMetrics, EventList, InstanceList, LiveWorkerList, Overview } from "../../core/admin-api.ts";

const TOKEN_KEY = "gpu-dashboard.admin-token";

export class Unauthorized extends Error {}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (t: string) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

async function get<S extends z.ZodType>(path: string, schema: S, bearer = token.get()): Promise<z.output<S>> {
  const res = await fetch(`/api/v1${path}`, { headers: { authorization: `Bearer ${bearer ?? ""}` } });
  const body: unknown = await res.json().catch(() => null);
  if (res.status === 401) throw new Unauthorized("the admin token was refused");
  if (!res.ok) {
    const err = ApiError.safeParse(body);
    throw new Error(err.success ? err.data.message : `${path}: HTTP ${res.status}`);
  }
  return schema.parse(body);
}

const at = (name: string) => `/endpoints/${encodeURIComponent(name)}`;

export const api = {
  /** Checks a token before it is kept. */
  check: (candidate: string) => get("/overview", Overview, candidate),
  overview: () => get("/overview", Overview),
  workers: (name: string) => get(`${at(name)}/workers`, LiveWorkerList),
  instances: (name: string) => get(`${at(name)}/instances`, InstanceList),
  metrics: (name: string, windowS: number) => get(`${at(name)}/metrics?window_s=${windowS}`, EndpointMetrics),
  events: (name: string) => get(`${at(name)}/events?limit=40`, EventList),
};
