// Carrying out a tick's actions, ledger first: (1) one D1 batch writes every intent (new rows with
// their mtoken hash for creates, the new status for start/stop/destroy) plus whatever the tick learned,
// (2) the Vast calls (bulk stop and destroy, one call per start and create), (3) the outcomes are
// returned as statements for the closing batch. A crash anywhere leaves intents the next tick repairs.
import type { Action } from "../../core/fleet.ts";
import { log } from "../../core/log.ts";
import { hashSecret, mintId, mintSecret } from "../../core/secret.ts";
import { BULK_MAX_IDS } from "../../core/vast-api.ts";
import type { ScalerConfig } from "./config.ts";
import type { EndpointFleet } from "./fleet-picture.ts";
import { createRequest } from "./instance-request.ts";
import { chunk, closeRows, insertEvents, insertIntents, recordInstance, recordStartFailures, send, setStatus, type Db, type NewInstanceRow, type ScaleEvent, type Statement } from "./ledger-store.ts";
import { VastError, type BulkResult, type VastApi } from "./vast-client.ts";

export interface Step {
  /** The endpoint it belongs to (null: an orphan instance no row owns). */
  fleet: EndpointFleet | null;
  action: Action;
  vastId: number | null;
  /** plan: decided now; repair: re-sending an intent Vast has not applied; orphan: our label, no row. */
  source: "plan" | "repair" | "orphan";
}

export interface StepOutcome {
  step: Step;
  /** ok, deferred (over this tick's call budget), unknown (the call may or may not have worked), failed: <code>. */
  outcome: string;
  /** The ledger id of a created instance. */
  workerId?: string;
  vastId?: number;
  /** A restart refused with resources_unavailable. */
  startRefused?: boolean;
}

export interface ApplyResult {
  outcomes: StepOutcome[];
  /** Outcome writes and events, for the tick's closing batch. */
  post: Statement[];
  /** Rows closed because their instance was destroyed (their Durable Object entry can go). */
  released: { endpoint: string; workerId: string }[];
}

export interface ApplyContext {
  db: Db;
  vast: VastApi;
  cfg: ScalerConfig;
  now: () => number;
}

const PARALLEL_CALLS = 4;

async function pool<T>(items: readonly T[], n: number, f: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await f(items[next++]!);
  }));
}

const idOf = (s: Step) => (s.action.kind === "create" ? "" : s.action.instanceId);
/** Vast calls only: drains are router calls (router-drain.ts) and never reach here. */
const VAST_RANK: Record<Action["kind"], number> = { destroy: 0, stop: 1, start: 2, create: 3, drain: 4, undrain: 4 };
const failure = (e: unknown) => (e instanceof VastError ? `failed: ${e.kind} ${e.code}` : `failed: ${String(e).slice(0, 120)}`);
/** A 5xx, a timeout or an unreadable answer: the call may have worked; the next list will tell. */
const describe = (e: unknown) => (e instanceof VastError && e.ambiguous ? "unknown" : failure(e));

/** Orders by what costs money first and keeps what fits this tick's remaining Vast calls. */
function withinBudget(steps: Step[], budget: number, bulk: boolean): { now: Step[]; later: Step[] } {
  const sorted = [...steps].sort((a, b) => VAST_RANK[a.action.kind] - VAST_RANK[b.action.kind]);
  const now: Step[] = [];
  const later: Step[] = [];
  const bulkCount = { destroy: 0, stop: 0 };
  let used = 0;
  for (const s of sorted) {
    const k = s.action.kind;
    let cost = 1;
    if (s.vastId === null && k === "destroy") cost = 0; // nothing at Vast to destroy: the row just closes
    else if (bulk && (k === "destroy" || k === "stop")) cost = bulkCount[k]++ % BULK_MAX_IDS === 0 ? 1 : 0;
    if (used + cost > budget) later.push(s);
    else {
      used += cost;
      now.push(s);
    }
  }
  return { now, later };
}

export async function applySteps(ctx: ApplyContext, steps: Step[], pre: Statement[]): Promise<ApplyResult> {
  const { db, vast, cfg } = ctx;
  const t = ctx.now();
  const budget = Math.max(0, cfg.VAST_MAX_CALLS_PER_TICK - vast.stats().calls);
  const { now: todo, later } = withinBudget(steps, budget, cfg.VAST_BULK);
  const outcomes: StepOutcome[] = later.map((step) => ({ step, outcome: "deferred" }));

  // 1. Intents. Creates get their ledger row (and mtoken hash) before Vast hears of them.
  const creates: { step: Step; row: NewInstanceRow; mtoken: string }[] = [];
  for (const step of todo) {
    const a = step.action;
    if (a.kind !== "create" || !step.fleet) continue;
    const mtoken = mintSecret("mt_");
    creates.push({
      step,
      mtoken,
      row: { id: mintId("w_"), endpointId: step.fleet.endpoint.id, groupId: a.groupId, mtokenHash: await hashSecret(mtoken), offerId: a.offerId, gpuName: a.gpuName, dph: a.dph },
    });
  }
  const planned = (kind: Action["kind"]) => todo.filter((s) => s.action.kind === kind && s.source === "plan").map(idOf);
  await send(db, [
    ...pre,
    ...insertIntents(db, creates.map((c) => c.row), t),
    ...setStatus(db, planned("start"), "running", t),
    ...setStatus(db, planned("stop"), "stopped", t),
    ...setStatus(db, planned("destroy"), "destroying", t),
  ]);

  // 2. Vast calls.
  const record = (step: Step, outcome: string, extra: Partial<StepOutcome> = {}) => {
    outcomes.push({ step, outcome, ...extra });
  };
  const bulkOrEach = async (list: Step[], bulkCall: (ids: number[]) => Promise<BulkResult>, one: (id: number) => Promise<void>) => {
    const withId = list.filter((s) => s.vastId !== null);
    for (const s of list) if (s.vastId === null) record(s, "ok");
    let useBulk = cfg.VAST_BULK;
    for (const part of chunk(withId, BULK_MAX_IDS)) {
      if (useBulk) {
        try {
          const r = await bulkCall(part.map((s) => s.vastId!));
          const failed = new Map(r.failed.map((f) => [f.id, f.error]));
          for (const s of part) record(s, failed.has(s.vastId!) ? `failed: http ${failed.get(s.vastId!)}` : "ok");
          continue;
        } catch (e) {
          // An API without the bulk form answers 404/405, or something we cannot read: fall back to one
          // (idempotent) call per instance.
          const unsupported = e instanceof VastError && ((e.kind === "http" && (e.status === 404 || e.status === 405)) || e.kind === "bad_answer");
          if (!unsupported) {
            for (const s of part) record(s, describe(e));
            continue;
          }
          useBulk = false;
        }
      }
      await pool(part, PARALLEL_CALLS, async (s) => {
        try {
          await one(s.vastId!);
          record(s, "ok");
        } catch (e) {
          record(s, describe(e));
        }
      });
    }
  };
  await bulkOrEach(todo.filter((s) => s.action.kind === "destroy"), (ids) => vast.bulkDestroy(ids), (id) => vast.destroy(id));
  await bulkOrEach(todo.filter((s) => s.action.kind === "stop"), (ids) => vast.bulkSetState(ids, "stopped"), (id) => vast.setState(id, "stopped"));
  await pool(todo.filter((s) => s.action.kind === "start"), PARALLEL_CALLS, async (s) => {
    try {
      await vast.setState(s.vastId!, "running");
      record(s, "ok");
    } catch (e) {
      const refused = e instanceof VastError && e.code === "resources_unavailable";
      record(s, describe(e), { startRefused: refused });
    }
  });
  await pool(creates, PARALLEL_CALLS, async (c) => {
    const a = c.step.action;
    const group = c.step.fleet!.groups.find((g) => g.id === (a as { groupId: number }).groupId);
    if (a.kind !== "create" || !group) {
      record(c.step, "failed: no group", { workerId: c.row.id });
      return;
    }
    try {
      const vastId = await vast.createInstance(a.offerId, createRequest(cfg, c.step.fleet!.endpoint, group, c.row.id, c.mtoken));
      record(c.step, "ok", { workerId: c.row.id, vastId });
    } catch (e) {
      record(c.step, describe(e), { workerId: c.row.id });
    }
  });

  // 3. Outcomes → statements for the closing batch.
  const t2 = ctx.now();
  const post: Statement[] = [];
  const released: ApplyResult["released"] = [];
  const events: ScaleEvent[] = [];
  const closeIds: string[] = [];
  const failedStarts: string[] = [];
  const revertToStopped: string[] = [];
  const revertToRunning: string[] = [];
  for (const o of outcomes) {
    const { step } = o;
    const a = step.action;
    const ok = o.outcome === "ok";
    const definite = o.outcome.startsWith("failed");
    if (a.kind === "create") {
      if (ok && o.vastId !== undefined) post.push(recordInstance(db, o.workerId!, o.vastId, t2));
      else if (definite && o.workerId) post.push(...closeRows(db, [o.workerId], `create failed: ${o.outcome.slice(8)}`, t2));
    } else if (a.kind === "start") {
      if (o.startRefused) failedStarts.push(a.instanceId);
      else if (definite && step.source === "plan") revertToStopped.push(a.instanceId);
    } else if (a.kind === "stop") {
      if (definite && step.source === "plan" && /rate_limited|backed_off/.test(o.outcome)) revertToRunning.push(a.instanceId);
    } else if (a.kind === "destroy" && ok && step.source !== "orphan") {
      closeIds.push(a.instanceId);
      if (step.fleet) released.push({ endpoint: step.fleet.endpoint.name, workerId: a.instanceId });
    }
    if (!ok) log(o.outcome === "deferred" ? "info" : "warn", "scale action not done", { endpoint: step.fleet?.endpoint.name, action: a.kind, outcome: o.outcome });
    events.push({
      endpoint: step.fleet?.endpoint.name ?? null,
      action: step.source === "plan" ? a.kind : `${a.kind} (${step.source})`,
      reason: a.reason,
      outcome: o.outcome,
      detail: {
        worker: o.workerId ?? idOf(step) ?? null,
        instance: o.vastId ?? step.vastId,
        ...(a.kind === "create" ? { offer: a.offerId, gpu: a.gpuName, dph: a.dph, group: a.groupId } : {}),
      },
    });
  }
  post.push(
    ...closeRows(db, closeIds, "destroyed", t2),
    ...recordStartFailures(db, failedStarts, t2),
    ...setStatus(db, revertToStopped, "stopped", t2),
    ...setStatus(db, revertToRunning, "running", t2),
    ...insertEvents(db, events, t2),
  );
  return { outcomes, post, released };
}
