// From what a tick read (ledger rows, Vast's list, the routers' snapshots) to the policy's inputs:
// one instance view per open row, per-group learned perf and load times, and what was learned this
// tick (written back in the same batch as the intents). Pure apart from the statements it builds.
import type { InstanceView } from "../../core/fleet.ts";
import { instanceView, type LedgerEntry, type Reconciliation } from "../../core/ledger-reconcile.ts";
import { recordLoadTime } from "../../core/load-deadline.ts";
import { learnPerf, modelKey, seedPerfBook, type PerfBook } from "../../core/placement.ts";
import type { EndpointPlanInput, GroupPolicy } from "../../core/scaling-policy.ts";
import type { EndpointSnapshot } from "../../core/snapshot.ts";
import { recordObservation, upsertLoadTimes, upsertPerf, type Db, type EndpointRow, type GroupRow, type Statement, type TickRead } from "./ledger-store.ts";

export interface EndpointFleet {
  endpoint: EndpointRow;
  groups: GroupRow[];
  entries: Map<string, LedgerEntry>;
  input: EndpointPlanInput;
}

export interface FleetPicture {
  fleets: EndpointFleet[];
  /** Learning to persist: per-instance observations, per-group perf and load times. */
  learning: Statement[];
}

/** Relative change below which a stored perf is not rewritten (keeps steady ticks write-free). */
const PERF_EPSILON = 0.01;
const changed = (a: number | null | undefined, b: number) => a === null || a === undefined || Math.abs(a - b) > PERF_EPSILON * Math.max(Math.abs(a), Math.abs(b));

export function buildPicture(
  db: Db,
  read: TickRead,
  rec: Reconciliation,
  snapshots: ReadonlyMap<string, EndpointSnapshot>,
  now: number,
  silentErrorS: number,
): FleetPicture {
  const closed = new Set(rec.close.map((c) => c.id));
  const adopted = new Map(rec.adopt.map((a) => [a.id, a.vastId]));
  const learning: Statement[] = [];
  const fleets: EndpointFleet[] = [];
  const groupsByEndpoint = new Map<number, GroupRow[]>();
  for (const g of read.groups) (groupsByEndpoint.get(g.endpointId) ?? groupsByEndpoint.set(g.endpointId, []).get(g.endpointId)!).push(g);
  // What groups running the same model measured (any endpoint's): a group's book starts from it.
  const byModel = new Map<string, number[]>();
  const keyOf = new Map<number, string>();
  for (const g of read.groups) {
    const key = modelKey({ template_hash: g.templateHash, image: g.image, launch_args: g.launchArgs });
    if (key === null) continue;
    keyOf.set(g.id, key);
    (byModel.get(key) ?? byModel.set(key, []).get(key)!).push(g.id);
  }
  const siblingBooks = (id: number): PerfBook[] => {
    const key = keyOf.get(id);
    return key === undefined ? [] : byModel.get(key)!.filter((other) => other !== id).map((other) => read.perf.get(other) ?? {});
  };
  const entriesByEndpoint = new Map<number, LedgerEntry[]>();
  for (const e of read.entries) {
    if (closed.has(e.id)) continue;
    const vastId = adopted.get(e.id);
    const entry = vastId === undefined ? e : { ...e, vastId, status: "running" as const };
    (entriesByEndpoint.get(e.endpointId) ?? entriesByEndpoint.set(e.endpointId, []).get(e.endpointId)!).push(entry);
  }

  for (const endpoint of read.endpoints) {
    if (!read.leased.has(endpoint.id)) continue;
    const snapshot = snapshots.get(endpoint.name);
    // No load picture, no decision (a deleted endpoint needs none: everything goes).
    if (!snapshot && !endpoint.deleted) continue;
    const workers = new Map((snapshot?.workers ?? []).map((w) => [w.id, w]));
    const groups = groupsByEndpoint.get(endpoint.id) ?? [];
    const entries = entriesByEndpoint.get(endpoint.id) ?? [];
    const views: InstanceView[] = [];
    const readyByGroup = new Map<number, { gpu_name: string | null; max_perf: number }[]>();
    const newLoadTimes = new Map<number, number[]>();

    for (const e of entries) {
      const w = workers.get(e.id);
      const view = instanceView(e, rec.matched.get(e.id) ?? null, w, now, { silentErrorS });
      views.push(view);
      if (view.state !== "ready" || view.perf === null) continue;
      if (e.groupId !== null) (readyByGroup.get(e.groupId) ?? readyByGroup.set(e.groupId, []).get(e.groupId)!).push({ gpu_name: view.gpuName, max_perf: view.perf });
      const firstReady = e.readyAt === null;
      if (firstReady && e.groupId !== null) {
        const list = newLoadTimes.get(e.groupId) ?? read.loadTimes.get(e.groupId) ?? [];
        newLoadTimes.set(e.groupId, recordLoadTime(list, (now - e.createdAt) / 1000));
      }
      if (firstReady || changed(e.perf, view.perf) || (view.gpuName !== null && view.gpuName !== e.gpuName)) {
        learning.push(recordObservation(db, e.id, { perf: view.perf, gpuName: view.gpuName, readyAt: firstReady ? now : null }, now));
      }
    }

    const policies: GroupPolicy[] = groups.map((g) => {
      const stored = read.perf.get(g.id) ?? {};
      const perf = learnPerf(stored, readyByGroup.get(g.id) ?? []);
      // Only what the group itself measured is stored as its own.
      for (const [gpu, value] of Object.entries(perf)) if (changed(stored[gpu], value)) learning.push(upsertPerf(db, g.id, gpu, value, now));
      const fresh = newLoadTimes.get(g.id);
      if (fresh) learning.push(upsertLoadTimes(db, g.id, fresh, now));
      return {
        id: g.id,
        name: g.name,
        cold_workers: g.coldWorkers,
        max_workers: g.maxWorkers,
        perf: seedPerfBook(perf, siblingBooks(g.id)),
        loadTimesS: fresh ?? read.loadTimes.get(g.id) ?? [],
        traffic_share: g.trafficShare,
        role: g.role,
        deleted: g.deleted,
      };
    });

    // Ready workers with no ledger row of ours (attached by hand) serve too.
    const ours = new Set(entries.map((e) => e.id));
    const external = { ready: 0, capacity: 0 };
    for (const w of snapshot?.workers ?? []) {
      if (ours.has(w.id) || w.phase !== "ready" || !(w.max_perf > 0)) continue;
      external.ready++;
      external.capacity += w.max_perf;
    }

    fleets.push({
      endpoint,
      groups,
      entries: new Map(entries.map((e) => [e.id, e])),
      input: {
        now,
        endpoint: endpoint.name,
        params: endpoint.params,
        deleted: endpoint.deleted,
        groups: policies,
        load: {
          buckets: snapshot?.buckets ?? [],
          waitingRequests: snapshot?.waiting.requests ?? 0,
          waitingWorkload: snapshot?.waiting.workload ?? 0,
          lastRequestAt: snapshot?.last_request_at ?? null,
        },
        instances: views,
        external,
      },
    });
  }
  return { fleets, learning };
}
