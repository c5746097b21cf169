import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { EndpointMetrics, InstanceList, Overview } from "../../core/admin-api.ts";
import { LOAD_BUCKET_MS, type EndpointSnapshot } from "../../core/snapshot.ts";
import { fillBuckets } from "../src/admin-reads.ts";
import { costOf, dayStart, spentSince, type BillingChange, type LedgerRow } from "../src/instance-costs.ts";
import { adminCall, call, json, makeEndpoint, readyWorker, routeOk, tableCounts } from "./helpers.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Noon UTC of some day: "today" began 12 h ago. */
const NOON = 20_000 * DAY + 12 * HOUR;

function row(over: Partial<LedgerRow> & { id: string }): LedgerRow {
  return {
    endpoint_id: 1,
    vast_instance_id: 7,
    group: "g",
    status: "running",
    gpu_name: "RTX 4090",
    dph_total: 0.4,
    perf: 50,
    created_at: NOON - 30 * HOUR,
    state_since: null,
    ready_at: null,
    closed_at: null,
    close_reason: null,
    ...over,
  };
}

const at = (hoursAfterMidnight: number) => dayStart(NOON) + hoursAfterMidnight * HOUR;
const change = (worker: string, hours: number, billed: boolean): BillingChange => ({ worker, at: at(hours), billed });

describe("cost from the ledger", () => {
  it.each<[string, LedgerRow[], BillingChange[], number]>([
    ["running since yesterday: the whole day so far", [row({ id: "a" })], [], 0.4 * 12],
    ["rented at 10:00 and running", [row({ id: "a", created_at: at(10) })], [], 0.4 * 2],
    ["stopped all day: nothing", [row({ id: "a", status: "stopped" })], [], 0],
    ["stopped at 03:00", [row({ id: "a", status: "stopped" })], [change("a", 3, false)], 0.4 * 3],
    ["stopped at 03:00, started at 09:00", [row({ id: "a" })], [change("a", 3, false), change("a", 9, true)], 0.4 * 6],
    ["destroyed at 06:00", [row({ id: "a", status: "closed", closed_at: at(6) })], [change("a", 6, false)], 0.4 * 6],
    ["closed at 06:00 with no event", [row({ id: "a", status: "closed", closed_at: at(6) })], [], 0.4 * 6],
    ["a create Vast refused", [row({ id: "a", created_at: at(1), status: "closed", closed_at: at(1), close_reason: "create failed: 400" })], [], 0],
    ["no price yet", [row({ id: "a", dph_total: null })], [], 0],
    ["yesterday's changes do not count", [row({ id: "a" })], [{ worker: "a", at: dayStart(NOON) - HOUR, billed: false }], 0.4 * 12],
    ["two instances", [row({ id: "a" }), row({ id: "b", dph_total: 1, created_at: at(11) })], [], 0.4 * 12 + 1],
  ])("%s", (_what, rows, changes, dollars) => {
    expect(spentSince(rows, changes, dayStart(NOON), NOON)).toBeCloseTo(dollars, 9);
  });

  it("counts $/h now over billed open rows only", () => {
    const rows = [row({ id: "a" }), row({ id: "b", status: "stopped" }), row({ id: "c", status: "creating", dph_total: 1 }), row({ id: "d", status: "closed", closed_at: at(1) })];
    expect(costOf(rows, [], NOON)).toMatchObject({ dph_now: 1.4, day_start: dayStart(NOON), now: NOON });
  });
});

function snapshot(now: number, buckets: EndpointSnapshot["buckets"], readyPerf: number): EndpointSnapshot {
  const worker = { id: "w", url: null, phase: "ready" as const, cur_load: 0, pending_load: 0, max_perf: readyPerf, last_report_age_s: 1, loadtime: 1, error_msg: "", gpu_name: null, version: null };
  return { endpoint: "e", now, workers: readyPerf > 0 ? [worker] : [], buckets, waiting: { requests: 0, workload: 0 }, last_request_at: null };
}

describe("load history", () => {
  const now = 1_000 * LOAD_BUCKET_MS + 4_000;
  const start = (ago: number) => now - 4_000 - ago * LOAD_BUCKET_MS;
  const bucket = (ago: number, hot_capacity?: number) => ({ start: start(ago), arrived: 10, requests: 1, served: 5, rejected: 0, held_peak: 0, hot_capacity });

  it("fills every bucket of the window, oldest first, the current one with live capacity", () => {
    const out = fillBuckets(snapshot(now, [bucket(3, 40)], 60), 60);
    expect(out.map((b) => b.start)).toEqual([5, 4, 3, 2, 1, 0].map(start));
    expect(out.map((b) => b.arrived)).toEqual([0, 0, 10, 0, 0, 0]);
    // Carried while a report could still be live, then the live value at the edge.
    expect(out.map((b) => b.hot_capacity)).toEqual([0, 0, 40, 40, 40, 60]);
  });

  it("drops capacity to zero once no report came for longer than the stale window", () => {
    const out = fillBuckets(snapshot(now, [bucket(8, 40)], 0), 90);
    expect(out.map((b) => b.hot_capacity)).toEqual([40, 40, 40, 40, 0, 0, 0, 0, 0]);
    // The same from a report before the window began.
    expect(fillBuckets(snapshot(now, [bucket(7, 40)], 0), 60).map((b) => b.hot_capacity)).toEqual([40, 40, 0, 0, 0, 0]);
  });
});

describe("admin read routes", () => {
  it("needs the admin token", async () => {
    for (const path of ["/overview", "/endpoints/x/instances", "/endpoints/x/metrics"]) {
      const res = await call(`/api/v1${path}`);
      expect(res.status).toBe(401);
      expect(await json(res)).toMatchObject({ code: "unauthorized" });
    }
  });

  it("shows every endpoint with its workers by phase, capacity and cost", async () => {
    const { name } = await makeEndpoint();
    await readyWorker(name, 5101, { max_perf: 120, cur_load: 30 });
    const overview = Overview.parse(await json(await adminCall("GET", "/overview")));
    const mine = overview.endpoints.find((e) => e.name === name);
    expect(mine).toMatchObject({ endpoint_state: "active", workers: { ready: 1, loading: 0 }, hot_capacity: 120, load: 30, cost: { dph_now: 0 } });
  });

  it("lists open instances of the ledger with their price, and the endpoint's $/h", async () => {
    const { name } = await makeEndpoint();
    const { id } = await json<{ id: number }>(await adminCall("GET", `/endpoints/${name}`));
    const now = Date.now();
    const insert = env.DB.prepare(
      "INSERT INTO workers (id, endpoint_id, kind, mtoken_hash, vast_instance_id, status, gpu_name, dph_total, perf, created_at, closed_at) VALUES (?, ?, 'instance', 'h', ?, ?, ?, ?, ?, ?, ?)",
    );
    await env.DB.batch([
      insert.bind(`${name}-run`, id, 9001, "running", "RTX 4090", 0.4, 50, now - 60_000, null),
      insert.bind(`${name}-cold`, id, 9002, "stopped", "RTX 4090", 0.4, 50, now - 60_000, null),
      insert.bind(`${name}-gone`, id, 9003, "closed", "RTX 4090", 0.4, 50, now - 60_000, now - 30_000),
    ]);
    const list = InstanceList.parse(await json(await adminCall("GET", `/endpoints/${name}/instances`)));
    expect(list.instances.map((i) => [i.id, i.status, i.billed])).toEqual([
      [`${name}-run`, "running", true],
      [`${name}-cold`, "stopped", false],
    ]);
    expect(list.cost.dph_now).toBeCloseTo(0.4, 9);
    expect(list.cost.spent_today).toBeGreaterThan(0);
    const overview = Overview.parse(await json(await adminCall("GET", "/overview")));
    expect(overview.endpoints.find((e) => e.name === name)).toMatchObject({ cold_capacity: 50 });
  });

  it("answers load against capacity and the scaler's decisions over the window", async () => {
    const { name, apiKey } = await makeEndpoint();
    await readyWorker(name, 5102, { max_perf: 80 });
    await routeOk(name, apiKey, { cost: 25 });
    const detail = { mode: "active", target: 90, readyCapacity: 80, hot: 1, cold: 2, billedDph: 0.4, forecast: { predicted: 81 }, actions: [] };
    await env.DB.prepare("INSERT INTO events (at, endpoint, kind, action, reason, outcome, detail) VALUES (?, ?, 'scale', 'decide', 'r', '0 actions', ?)")
      .bind(Date.now() - 1000, name, JSON.stringify(detail))
      .run();
    const metrics = EndpointMetrics.parse(await json(await adminCall("GET", `/endpoints/${name}/metrics?window_s=60`)));
    expect(metrics.buckets).toHaveLength(6);
    expect(metrics.buckets.reduce((s, b) => s + b.arrived, 0)).toBe(25);
    expect(metrics.buckets.at(-1)?.hot_capacity).toBe(80);
    expect(metrics.scaler).toEqual([expect.objectContaining({ mode: "active", target: 90, ready_capacity: 80, cold: 2, predicted: 81 })]);
  });

  it("refuses a bad window with 400 and an unknown endpoint with 404, changing nothing", async () => {
    const { name } = await makeEndpoint();
    const before = await tableCounts();
    for (const q of ["window_s=5", "window_s=99999", "window_s=abc"]) {
      const res = await adminCall("GET", `/endpoints/${name}/metrics?${q}`);
      expect(res.status).toBe(400);
      expect(await json(res)).toMatchObject({ code: "bad_request" });
    }
    for (const path of ["/endpoints/nope/metrics", "/endpoints/nope/instances"]) expect((await adminCall("GET", path)).status).toBe(404);
    expect(await tableCounts()).toEqual(before);
  });
});
