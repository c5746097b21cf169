// One scaling pass, load → decide → apply, for every endpoint (the cron tick) or for one (the
// router's "needs capacity now"). Order matters and is the ledger protocol (docs/scaler.md):
// lease, list Vast's instances, read the ledger (after the list), reconcile, decide, write intents,
// call Vast, write outcomes and release the leases. D1 round trips: 2 or 3 however large the fleet.
import { applyActions, type Action } from "../../core/fleet.ts";
import { reconcile } from "../../core/ledger-reconcile.ts";
import { log } from "../../core/log.ts";
import { offerQuery, queryKey } from "../../core/placement.ts";
import { planEndpoint, type Plan } from "../../core/scaling-policy.ts";
import { mintId } from "../../core/secret.ts";
import type { VastInstance, VastOffer } from "../../core/vast-api.ts";
import { applySteps, type ApplyResult, type Step } from "./apply.ts";
import { scalingSettings, type ScalerConfig } from "./config.ts";
import { buildPicture, type EndpointFleet } from "./fleet-picture.ts";
import { applyDrains, isDrainAction, type DrainCall, type DrainTarget } from "./router-drain.ts";
import { closeRows, database, insertEvents, type D1, leaseOne, readTick, recordInstance, releaseLeases, send, type Db, type ScaleEvent, type Statement } from "./ledger-store.ts";
import { fetchSnapshots, type SnapshotSource } from "./snapshots.ts";
import { VastError, type VastApi, type VastCallStats } from "./vast-client.ts";

export interface EndpointObjects extends SnapshotSource, DrainTarget {
  /** Tells the endpoint's object a worker is gone for good. */
  forget(endpoint: string, workerId: string): Promise<unknown>;
}

/** The last instance list, so bursts of scale-now calls do not each list the account. */
export class InstanceListCache {
  private last: { at: number; instances: VastInstance[] } | null = null;
  get(now: number, maxAgeMs: number): { at: number; instances: VastInstance[] } | null {
    return this.last && now - this.last.at <= maxAgeMs ? this.last : null;
  }
  set(at: number, instances: VastInstance[]): void {
    this.last = { at, instances };
  }
}

export interface TickDeps {
  d1: D1;
  vast: VastApi;
  objects: EndpointObjects;
  config: ScalerConfig;
  now?: () => number;
  listCache?: InstanceListCache;
}

export type TickScope = { kind: "cron" } | { kind: "scale-now"; endpoint: string; reason: string };

export interface TickReport {
  scope: TickScope["kind"];
  status: "done" | "skipped" | "failed";
  detail: string;
  /** Endpoints decided for. */
  endpoints: number;
  actions: number;
  outcomes: Record<string, number>;
  repairs: { adopted: number; closed: number; resent: number; orphans: number };
  vast: VastCallStats;
}

/**
 * Offers from this tick's searches; what one endpoint rents is gone for the next. Offers on a machine
 * that holds any instance of the account are left out: that GPU belongs to the instance (a stopped
 * one restarted in this pass, by any endpoint, would take it back, and the rental would fail with
 * no_such_ask).
 */
class OfferPool {
  private taken = new Set<number>();
  private readonly byGroup = new Map<number, VastOffer[]>();
  private readonly held: ReadonlySet<number>;
  constructor(
    private readonly search: (groups: number[]) => Promise<Map<number, VastOffer[]>>,
    instances: readonly VastInstance[],
  ) {
    this.held = new Set(instances.flatMap((i) => (i.machine_id == null ? [] : [i.machine_id])));
  }
  /** Searches (once per tick and group) for the groups not searched yet. */
  async ensure(groups: readonly number[]): Promise<void> {
    const missing = [...new Set(groups)].filter((g) => !this.byGroup.has(g));
    if (missing.length === 0) return;
    const found = await this.search(missing);
    for (const g of missing) this.byGroup.set(g, (found.get(g) ?? []).filter((o) => o.machine_id == null || !this.held.has(o.machine_id)));
  }
  forGroups(ids: readonly number[]): Map<number, VastOffer[]> {
    return new Map(ids.map((g) => [g, (this.byGroup.get(g) ?? []).filter((o) => !this.taken.has(o.id))]));
  }
  take(plan: Plan): void {
    for (const a of plan.actions) if (a.kind === "create") this.taken.add(a.offerId);
  }
}

const f1 = (x: number) => x.toFixed(1);

function decideEvent(fleet: EndpointFleet, plan: Plan, why: string): ScaleEvent {
  const s = plan.summary;
  return {
    endpoint: fleet.endpoint.name,
    action: "decide",
    reason: `${why}${s.mode}: predicted ${f1(s.forecast.predicted)} u/s, target ${f1(s.target)} u/s, ready ${f1(s.readyCapacity)} u/s, ${s.hot} hot, ${s.cold} cold, $${s.billedDph.toFixed(2)}/h`,
    outcome: `${plan.actions.length} action${plan.actions.length === 1 ? "" : "s"}`,
    detail: { ...s, actions: plan.actions.map((a) => a.kind) },
  };
}

export async function runTick(deps: TickDeps, scope: TickScope): Promise<TickReport> {
  const now = deps.now ?? Date.now;
  const cfg = deps.config;
  const db = database(deps.d1);
  const holder = mintId("tick_");
  const ttlMs = cfg.LEASE_TTL_S * 1000;
  const settings = scalingSettings(cfg);
  const started = now();
  const report: TickReport = {
    scope: scope.kind,
    status: "done",
    detail: "",
    endpoints: 0,
    actions: 0,
    outcomes: {},
    repairs: { adopted: 0, closed: 0, resent: 0, orphans: 0 },
    vast: deps.vast.stats(),
  };
  const finish = (status: TickReport["status"], detail: string) => {
    Object.assign(report, { status, detail, vast: deps.vast.stats() });
    log(status === "failed" ? "warn" : "info", "scale tick", { ...report, ms: now() - started });
    return report;
  };

  let endpointId: number | undefined;
  if (scope.kind === "scale-now") {
    const id = await leaseOne(db, scope.endpoint, holder, started, ttlMs);
    if (id === null) return finish("skipped", "unknown endpoint, or another scaler pass holds its lease");
    endpointId = id;
  }

  try {
    // 1. The account's instances, before the ledger is read (reconcile() relies on that order).
    let instances: VastInstance[];
    let listedAt: number;
    const cached = scope.kind === "scale-now" ? deps.listCache?.get(now(), cfg.LIST_CACHE_MS) : null;
    if (cached) ({ instances, at: listedAt } = cached);
    else {
      try {
        listedAt = now();
        instances = await deps.vast.listInstances();
        deps.listCache?.set(listedAt, instances);
      } catch (e) {
        const outcome = e instanceof VastError ? `failed: ${e.kind} ${e.code}` : "failed";
        const endpoint = scope.kind === "scale-now" ? scope.endpoint : null;
        await send(db, [...insertEvents(db, [{ endpoint, action: "tick", reason: "listing instances", outcome }], now()), releaseLeases(db, holder)]);
        return finish("failed", `instance list: ${outcome}`);
      }
    }

    // 2. One batch: leases, endpoints, groups, open ledger rows, learned perf and load times.
    const read = await readTick(db, scope.kind === "cron" ? { kind: "all" } : { kind: "endpoint", name: scope.endpoint }, holder, now(), ttlMs, {
      acquire: scope.kind === "cron",
      endpointOnly: endpointId,
    });
    if (endpointId !== undefined) read.leased = new Set([endpointId]);

    // 3. Reconcile; fix only what belongs to endpoints this pass holds.
    const rec = reconcile(read.entries, instances, cfg.INSTANCE_LABEL_PREFIX, listedAt, { createGraceMs: cfg.CREATE_GRACE_S * 1000, goneGraceMs: cfg.GONE_GRACE_S * 1000 }, { orphans: scope.kind === "cron" });
    const entryById = new Map(read.entries.map((e) => [e.id, e]));
    const held = (id: string) => read.leased.has(entryById.get(id)?.endpointId ?? -1);
    rec.adopt = rec.adopt.filter((a) => held(a.id));
    rec.close = rec.close.filter((c) => held(c.id));
    rec.resend = rec.resend.filter((r) => held(r.id));
    report.repairs = { adopted: rec.adopt.length, closed: rec.close.length, resent: rec.resend.length, orphans: rec.orphans.length };

    // 4. Load pictures, instance views, learning; then decide, search offers where needed, decide again.
    const live = read.endpoints.filter((e) => read.leased.has(e.id) && !e.deleted).map((e) => e.name);
    const snapshots = await fetchSnapshots(deps.objects, live, Math.max(cfg.LONG_WINDOW_S, cfg.BURST_WINDOW_S), cfg.SNAPSHOT_CONCURRENCY);
    const t = now();
    const picture = buildPicture(db, read, rec, snapshots, t, cfg.SILENT_ERROR_S);
    const pool = new OfferPool((groups) => searchOffers(deps.vast, read, groups), instances);
    await pool.ensure(picture.fleets.flatMap((f) => planEndpoint({ ...f.input, settings }).needsOffers));
    const why = scope.kind === "scale-now" ? `scale-now (${scope.reason}): ` : "";
    const plans = picture.fleets.map((fleet) => {
      const plan = planEndpoint({ ...fleet.input, settings, offers: pool.forGroups(fleet.groups.map((g) => g.id)) });
      pool.take(plan);
      return { fleet, plan };
    });
    report.endpoints = plans.length;

    // 5. Steps: the plans, then re-sent intents the plans do not touch, then orphans. Drains are
    // router calls and go to the endpoints' objects at once (before any Vast call: putting a drained
    // worker back is the fastest capacity there is).
    const steps: Step[] = [];
    const drainCalls: DrainCall[] = [];
    const touched = new Set<string>();
    const pre: Statement[] = [...picture.learning];
    const events: ScaleEvent[] = [];
    for (const { fleet, plan } of plans) {
      if (plan.actions.length > 0) events.push(decideEvent(fleet, plan, why));
      for (const a of plan.actions) {
        if (a.kind !== "create") touched.add(a.instanceId);
        if (isDrainAction(a)) {
          drainCalls.push({ fleet, action: a });
          continue;
        }
        const vastId = a.kind === "create" ? null : (fleet.input.instances.find((v) => v.id === a.instanceId)?.vastId ?? null);
        steps.push({ fleet, action: a, vastId, source: "plan" });
      }
    }
    const drains = await applyDrains(deps.objects, drainCalls, cfg.SNAPSHOT_CONCURRENCY);
    events.push(...drains.events);
    const fleetOf = new Map(picture.fleets.map((f) => [f.endpoint.id, f]));
    const nameOf = new Map(read.endpoints.map((e) => [e.id, e.name]));
    for (const r of rec.resend) {
      if (touched.has(r.id)) continue;
      const entry = entryById.get(r.id)!;
      const action: Action = { kind: r.kind, instanceId: r.id, groupId: entry.groupId ?? -1, reason: `repair: Vast has not applied our ${r.kind} yet` };
      steps.push({ fleet: fleetOf.get(entry.endpointId) ?? null, action, vastId: r.vastId, source: "repair" });
    }
    for (const o of rec.orphans) {
      steps.push({ fleet: null, action: { kind: "destroy", instanceId: `vast:${o.vastId}`, groupId: -1, reason: `orphan: ${o.reason}` }, vastId: o.vastId, source: "orphan" });
    }
    for (const a of rec.adopt) {
      pre.push(recordInstance(db, a.id, a.vastId, t));
      events.push({ endpoint: nameOf.get(entryById.get(a.id)!.endpointId) ?? null, action: "adopt", reason: "the create's answer was lost; found the instance by its label", outcome: "ok", detail: { worker: a.id, instance: a.vastId } });
    }
    const released: ApplyResult["released"] = [];
    for (const c of rec.close) {
      pre.push(...closeRows(db, [c.id], c.reason, t));
      const endpoint = nameOf.get(entryById.get(c.id)!.endpointId) ?? null;
      events.push({ endpoint, action: "close", reason: c.reason, outcome: "ok", detail: { worker: c.id, instance: entryById.get(c.id)!.vastId } });
      if (endpoint) released.push({ endpoint, workerId: c.id });
    }
    pre.push(...insertEvents(db, events, t));

    // 6. Intents, Vast calls, outcomes; a refused restart falls back to renting at once.
    const ctx = { db, vast: deps.vast, cfg, now };
    const first = await applySteps(ctx, steps, pre);
    const second = await fallBack(ctx, first, drains.done, deps.objects, pool, settings);
    const results = second ? [first, second] : [first];
    for (const r of results) {
      for (const o of r.outcomes) {
        const key = o.outcome.startsWith("failed") ? "failed" : o.outcome;
        report.outcomes[key] = (report.outcomes[key] ?? 0) + 1;
        report.actions++;
      }
      released.push(...r.released);
    }
    // The router keeps a drain across a stop: a restarted worker must be routed to again.
    const restarted: DrainCall[] = [];
    for (const r of results) {
      for (const o of r.outcomes) {
        const a = o.step.action;
        if (a.kind !== "start" || !o.step.fleet || !(o.outcome === "ok" || o.outcome === "unknown")) continue;
        if (!o.step.fleet.input.instances.find((v) => v.id === a.instanceId)?.drained) continue;
        restarted.push({ fleet: o.step.fleet, action: { kind: "undrain", instanceId: a.instanceId, groupId: a.groupId, reason: "restarted: the router routes to it again" } });
      }
    }
    const cleared = await applyDrains(deps.objects, restarted, cfg.SNAPSHOT_CONCURRENCY);
    await send(db, [...results.flatMap((r) => r.post), ...insertEvents(db, cleared.events, now()), releaseLeases(db, holder)]);

    // 7. The router forgets workers whose rows are closed (best effort: stale entries age out anyway).
    await Promise.all(released.map((r) => deps.objects.forget(r.endpoint, r.workerId).catch((e: unknown) => log("warn", "forget failed", { endpoint: r.endpoint, worker: r.workerId, error: String(e) }))));
    return finish("done", "");
  } catch (e) {
    await send(db, [releaseLeases(db, holder)]).catch(() => undefined);
    log("error", "scale tick crashed", { scope: scope.kind, error: String(e).slice(0, 500) });
    throw e;
  }
}

/** One search per distinct query, for the groups whose plans asked for offers. */
async function searchOffers(vast: VastApi, read: { groups: { id: number; searchParams: Record<string, Record<string, unknown>>; gpuRam: number | null }[] }, wanted: number[]): Promise<Map<number, VastOffer[]>> {
  const out = new Map<number, VastOffer[]>();
  const byKey = new Map<string, { query: ReturnType<typeof offerQuery>; groups: number[] }>();
  for (const id of new Set(wanted)) {
    const g = read.groups.find((x) => x.id === id);
    if (!g) continue;
    const query = offerQuery({ search_params: g.searchParams, gpu_ram: g.gpuRam });
    const key = queryKey(query);
    (byKey.get(key) ?? byKey.set(key, { query, groups: [] }).get(key)!).groups.push(id);
  }
  for (const { query, groups } of byKey.values()) {
    try {
      const offers = await vast.searchOffers(query);
      for (const g of groups) out.set(g, offers);
    } catch (e) {
      log("warn", "offer search failed", { groups, error: e instanceof VastError ? `${e.kind} ${e.code}` : String(e) });
    }
  }
  return out;
}

/** After restarts refused with resources_unavailable: decide again for those endpoints, as if the refused ones were known to fail. */
async function fallBack(
  ctx: Parameters<typeof applySteps>[0],
  first: ApplyResult,
  drained: readonly DrainCall[],
  objects: DrainTarget,
  pool: OfferPool,
  settings: ReturnType<typeof scalingSettings>,
): Promise<ApplyResult | null> {
  const refused = first.outcomes.filter((o) => o.startRefused && o.step.fleet);
  if (refused.length === 0) return null;
  const t = ctx.now();
  const steps: Step[] = [];
  const drainCalls: DrainCall[] = [];
  const events: ScaleEvent[] = [];
  for (const fleet of new Set(refused.map((o) => o.step.fleet!))) {
    const done = first.outcomes.filter((o) => o.step.fleet === fleet && o.step.source === "plan" && !o.startRefused && (o.outcome === "ok" || o.outcome === "unknown"));
    const routed = drained.filter((c) => c.fleet === fleet).map((c) => c.action);
    const world = applyActions({ instances: [...fleet.input.instances], offers: new Map() }, [...routed, ...done.map((o) => o.step.action)], t, (i) => `pending:${i}`);
    const failed = new Set(refused.filter((o) => o.step.fleet === fleet).map((o) => (o.step.action as { instanceId: string }).instanceId));
    const instances = world.instances.map((v) => (failed.has(v.id) ? { ...v, state: "stopped" as const, startFailures: v.startFailures + 1, lastStartFailureAt: t } : v));
    await pool.ensure(planEndpoint({ ...fleet.input, now: t, instances, settings }).needsOffers);
    const plan = planEndpoint({ ...fleet.input, now: t, instances, settings, offers: pool.forGroups(fleet.groups.map((g) => g.id)) });
    pool.take(plan);
    const actions = plan.actions.filter((a) => a.kind === "create" || !a.instanceId.startsWith("pending:"));
    if (actions.length > 0) events.push(decideEvent(fleet, { ...plan, actions }, "restart refused (resources_unavailable), deciding again: "));
    for (const a of actions) {
      if (isDrainAction(a)) drainCalls.push({ fleet, action: a });
      else steps.push({ fleet, action: a, vastId: a.kind === "create" ? null : (instances.find((v) => v.id === a.instanceId)?.vastId ?? null), source: "plan" });
    }
  }
  events.push(...(await applyDrains(objects, drainCalls, ctx.cfg.SNAPSHOT_CONCURRENCY)).events);
  if (steps.length === 0 && events.length === 0) return null;
  return applySteps(ctx, steps, insertEvents(ctx.db, events, t));
}

export type { Db };
