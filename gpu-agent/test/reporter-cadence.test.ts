// The reporter's cadence, with fake timers and a recording transport: every interval while loading;
// once ready, on change but at most once per min interval, or every interval; state changes at once;
// backoff while the router fails, and nothing lost meanwhile.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LoadLedger } from "../src/load-ledger.ts";
import { Reporter, type ReportBase, type WorkerStatusBody } from "../src/reporter.ts";

const INTERVAL = 10_000;
const MIN = 1_000;

interface Sent {
  at: number;
  path: string;
  body: WorkerStatusBody & { request_idxs?: number[] };
}

function setup() {
  const ledger = new LoadLedger();
  const base: ReportBase = { state: "loading", url: "http://10.0.0.1:3000", loadtime: 0, max_perf: 0, error_msg: "", gpu_name: undefined };
  const sent: Sent[] = [];
  let up = true;
  const reporter = new Reporter(
    { routerUrl: "http://router", workerId: 7, mtoken: "m", version: "v", intervalMs: INTERVAL, minIntervalMs: MIN },
    () => base,
    ledger,
    {
      transport: async (path, body) => {
        if (!up) return false;
        sent.push({ at: Date.now(), path, body: body as Sent["body"] });
        return true;
      },
      disk: async () => null,
    },
  );
  ledger.onChange = () => reporter.changed();
  const statuses = () => sent.filter((s) => s.path === "/worker_status/");
  return { ledger, base, sent, statuses, reporter, setRouter: (v: boolean) => (up = v) };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date", "performance"] });
  vi.setSystemTime(0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe("reporter cadence", () => {
  it("reports every interval while loading, and load changes do not add reports", async () => {
    const { reporter, statuses, ledger } = setup();
    reporter.start();
    await vi.advanceTimersByTimeAsync(1);
    ledger.reject(1, 5);
    await vi.advanceTimersByTimeAsync(3 * INTERVAL);
    expect(statuses().map((s) => s.at)).toEqual([0, INTERVAL, 2 * INTERVAL, 3 * INTERVAL]);
    reporter.stop();
  });

  it("once ready: a burst of changes gives one report per min interval, not one per change", async () => {
    const { reporter, statuses, ledger, base } = setup();
    base.state = "ready";
    reporter.start();
    await vi.advanceTimersByTimeAsync(1);
    for (let i = 0; i < 10; i++) {
      const t = ledger.start(i, 1);
      await vi.advanceTimersByTimeAsync(50);
      ledger.finish(t, "served");
    }
    await vi.advanceTimersByTimeAsync(2 * MIN);
    expect(statuses().map((s) => s.at)).toEqual([0, MIN]);
    expect(statuses()[1]!.body).toMatchObject({ cur_perf: 10, new_load: 10, cur_load: 0, num_requests_recieved: 10 });
    // Quiet again: the next report is one interval after the last.
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(statuses().map((s) => s.at)).toEqual([0, MIN, MIN + INTERVAL]);
    expect(statuses()[2]!.body).toMatchObject({ cur_perf: 0, new_load: 0 });
    reporter.stop();
  });

  it("a state change is reported at once, inside the min interval", async () => {
    const { reporter, statuses, base } = setup();
    base.state = "ready";
    reporter.start();
    await vi.advanceTimersByTimeAsync(100);
    base.state = "draining";
    await reporter.now();
    expect(statuses().map((s) => [s.at, s.body.state])).toEqual([
      [0, "ready"],
      [100, "draining"],
    ]);
    reporter.stop();
  });

  it("retries with growing delays while the router fails, then delivers everything that happened", async () => {
    const { reporter, statuses, sent, ledger, base, setRouter } = setup();
    base.state = "ready";
    setRouter(false);
    reporter.start();
    const t = ledger.start(42, 8);
    ledger.finish(t, "served");
    ledger.reject(43, 3);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(reporter.failures).toBeGreaterThanOrEqual(5);
    expect(reporter.failures).toBeLessThanOrEqual(60); // backoff, not a busy loop
    setRouter(true);
    // The longest backoff is one interval plus its 20 % jitter.
    await vi.advanceTimersByTimeAsync(1.2 * INTERVAL + 1);
    expect(statuses()[0]!.body).toMatchObject({ cur_perf: 8, new_load: 8, rej_load: 3, num_requests_recieved: 1 });
    expect(sent.find((s) => s.path === "/delete_requests/")!.body.request_idxs).toEqual([42, 43]);
    reporter.stop();
  });
});
