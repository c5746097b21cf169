// A fuzz campaign on one surface of a running target: the state read before, the cases, the state read
// after, and a genuine call that shows the target still works and its sequence moved only by the
// genuine calls. Shared by `npm run fuzz` (10,000 cases a surface) and the sample in `npm test`.
import { isDeepStrictEqual } from "node:util";
import { agentSurface } from "./agent-surface.ts";
import type { Surface } from "./cases.ts";
import { adminSurface, deleteRequestsSurface, endpointWorkersSurface, routeSurface, workerStatusSurface, type RouterCtx } from "./router-surfaces.ts";
import { fuzzSurface, type FuzzOptions, type SurfaceRun } from "./run.ts";
import type { AgentTarget, RouterTarget } from "./targets.ts";

export interface CampaignRow extends SurfaceRun {
  /** The stored state is what it was, and the target still serves as before. */
  state_unchanged: boolean;
  state_detail?: string;
}

const KEEP_ALIVE_MS = 3000;

/** The router's surfaces, by the name FUZZ_SURFACES uses. */
export const ROUTER_SURFACES: readonly (readonly [string, Surface<RouterCtx>])[] = [
  ["route", routeSurface],
  ["worker_status", workerStatusSurface],
  ["delete_requests", deleteRequestsSurface],
  ["get_endpoint_workers", endpointWorkersSurface],
  ["admin", adminSurface],
];

/** Paths where two JSON-like values differ (to say what changed, not just that something did). */
export function differences(a: unknown, b: unknown, path = ""): string[] {
  if (isDeepStrictEqual(a, b)) return [];
  if (a && b && typeof a === "object" && typeof b === "object") {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`));
  }
  return [`${path}: ${JSON.stringify(a)?.slice(0, 200)} → ${JSON.stringify(b)?.slice(0, 200)}`];
}

export async function fuzzRouterSurface(router: RouterTarget, surface: Surface<RouterCtx>, opts: FuzzOptions): Promise<CampaignRow> {
  const first = await router.routeOnce();
  const before = await router.observe();
  // workerd evicts an idle Durable Object after some seconds: read it now and then during the run.
  let touching: Promise<void> = Promise.resolve();
  const keepAlive = setInterval(() => (touching = touching.then(() => router.touch()).catch(() => undefined)), KEEP_ALIVE_MS);
  let run: SurfaceRun;
  try {
    run = await fuzzSurface(surface, router.origin, router.ctx, opts);
  } finally {
    clearInterval(keepAlive);
    await touching;
  }
  const after = await router.observe();
  const next = await router.routeOnce();
  const changed = differences(before, after);
  // Two genuine calls around the run: a case that took a reqnum shows up as a gap.
  const sequence = first.reqnum !== undefined && next.reqnum === first.reqnum + 2;
  const detail = [...changed, ...(sequence ? [] : [`reqnum ${first.reqnum} → ${next.reqnum}`])];
  return { ...run, state_unchanged: detail.length === 0, ...(detail.length ? { state_detail: detail.join("; ") } : {}) };
}

export async function fuzzAgent(agent: AgentTarget, opts: FuzzOptions): Promise<CampaignRow> {
  const before = await agent.observe();
  const run = await fuzzSurface(agentSurface, agent.origin, agent.ctx, opts);
  const after = await agent.observe();
  // The model server saw nothing, no load is left behind, and a genuine call is still served.
  const served = await agent.callOnce();
  const same = isDeepStrictEqual(before, after) && served === 200;
  return { ...run, state_unchanged: same, ...(same ? {} : { state_detail: `${differences(before, after).join("; ")}; then a genuine call got ${served}` }) };
}
