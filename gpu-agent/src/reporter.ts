// Reports to the router (PROTOCOL.md §4): `/worker_status/` every interval while loading; once
// ready, on every change (at most once per min interval) or every interval; state changes at once.
// `/delete_requests/` for finished requests. Deltas (new_load, rej_load, cur_perf, counts) are
// computed against the last report the router acknowledged, so a failed report loses nothing.
// The router being unreachable never stops the agent: it retries with backoff.
import { statfs } from "node:fs/promises";
import type { z } from "zod";
import { log } from "../../core/log.ts";
import { WorkerStatus, type AgentState } from "../../core/wire.ts";
import { backoffDelay } from "./backoff.ts";
import type { LedgerTotals, LoadLedger } from "./load-ledger.ts";

const TIMEOUT_MS = 5_000;

export type WorkerStatusBody = z.input<typeof WorkerStatus>;

/** The non-delta part of a report, from the agent's current state. */
export interface ReportBase {
  state: AgentState;
  url: string | undefined;
  loadtime: number;
  max_perf: number;
  error_msg: string;
  gpu_name: string | undefined;
}

/** Sends one report; true when the router accepted it. Injected in tests to check cadence with fake timers. */
export type ReportTransport = (path: "/worker_status/" | "/delete_requests/", body: unknown) => Promise<boolean>;

export interface ReporterOptions {
  routerUrl: string;
  workerId: string | number;
  mtoken: string;
  version: string;
  intervalMs: number;
  minIntervalMs: number;
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

async function diskUsedGb(): Promise<number | null> {
  try {
    const s = await statfs("/");
    return ((s.blocks - s.bfree) * s.bsize) / 1e9;
  } catch {
    return null;
  }
}

export class Reporter {
  private acked: LedgerTotals;
  private ackedDisk: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private sending: Promise<void> | null = null;
  private again = false;
  private lastAttemptAt = -Infinity;
  private failuresInRow = 0;
  private stopped = false;
  failures = 0;
  sent = 0;

  private readonly transport: ReportTransport;
  private readonly disk: () => Promise<number | null>;
  /** Cheap state check for changed(), which runs twice per request. */
  private readonly loading: () => boolean;

  constructor(
    private readonly opts: ReporterOptions,
    private readonly base: () => ReportBase,
    private readonly ledger: LoadLedger,
    io: { transport?: ReportTransport; disk?: () => Promise<number | null>; loading?: () => boolean } = {},
  ) {
    this.acked = { ...ledger.totals };
    this.transport = io.transport ?? ((path, body) => this.post(path, body));
    this.disk = io.disk ?? diskUsedGb;
    this.loading = io.loading ?? (() => this.base().state === "loading");
  }

  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Load changed: report soon if loaded, at most once per min interval. */
  changed(): void {
    if (this.stopped || this.loading()) return;
    if (this.failuresInRow > 0) return; // the backoff retry carries the change
    if (this.sending) {
      this.again = true;
      return;
    }
    this.schedule(Math.max(0, this.lastAttemptAt + this.opts.minIntervalMs - performance.now()));
  }

  /** Send now, ignoring the min interval (state transitions, drain). Resolves when sent or failed. */
  async now(): Promise<void> {
    if (this.sending) await this.sending;
    await this.send();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    const at = performance.now() + delayMs;
    if (this.timer && at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      void this.send();
    }, delayMs);
    this.timer.unref();
  }

  private send(): Promise<void> {
    if (this.sending) {
      this.again = true;
      return this.sending;
    }
    this.sending = this.attempt().finally(() => {
      this.sending = null;
      if (this.stopped) return;
      if (this.failuresInRow > 0) {
        this.schedule(backoffDelay(this.failuresInRow - 1, this.opts.minIntervalMs, this.opts.intervalMs));
      } else if (this.again) {
        this.again = false;
        this.schedule(Math.max(0, this.lastAttemptAt + this.opts.minIntervalMs - performance.now()));
      } else {
        this.schedule(this.opts.intervalMs);
      }
    });
    return this.sending;
  }

  private async attempt(): Promise<void> {
    this.lastAttemptAt = performance.now();
    this.again = false;
    const totals = { ...this.ledger.totals };
    const disk = await this.disk();
    const body = this.body(totals, disk);
    const finished = this.ledger.takeFinished();
    let ok = await this.transport("/worker_status/", body);
    if (ok) {
      this.acked = totals;
      if (disk !== null) this.ackedDisk = disk;
    }
    if (finished.length > 0) {
      const deleted = ok && (await this.transport("/delete_requests/", { id: this.opts.workerId, mtoken: this.opts.mtoken, request_idxs: finished }));
      if (!deleted) this.ledger.restoreFinished(finished);
      ok &&= deleted;
    }
    if (ok) {
      if (this.failuresInRow > 0) log("info", "router reachable again", { after_failures: this.failuresInRow });
      this.failuresInRow = 0;
      this.sent++;
    } else {
      this.failures++;
      this.failuresInRow++;
    }
  }

  /** The report as sent; checked against the wire schema so a bug here shows up in the log, not at the router. */
  body(totals: LedgerTotals, disk: number | null): WorkerStatusBody {
    const a = this.acked;
    const b = this.base();
    const body: WorkerStatusBody = {
      id: this.opts.workerId,
      mtoken: this.opts.mtoken,
      version: this.opts.version,
      ...(b.url ? { url: b.url } : {}),
      loadtime: round(b.loadtime),
      cur_load: round(this.ledger.inFlightLoad),
      new_load: round(totals.received - totals.cancelled - (a.received - a.cancelled)),
      rej_load: Math.max(0, round(totals.rejected - a.rejected)),
      cur_perf: Math.max(0, round(totals.served - a.served)),
      max_perf: round(b.max_perf),
      error_msg: b.error_msg,
      num_requests_working: this.ledger.inFlightRequests,
      num_requests_recieved: totals.requests - a.requests,
      working_request_idxs: this.ledger.workingIdxs(),
      additional_disk_usage: disk !== null && this.ackedDisk !== null ? Math.max(0, round(disk - this.ackedDisk)) : 0,
      state: b.state,
      ...(b.gpu_name ? { gpu_name: b.gpu_name } : {}),
    };
    const check = WorkerStatus.safeParse(body);
    if (!check.success) log("error", "report does not match the wire schema", { issues: check.error.issues.map((i) => i.path.join(".")) });
    return body;
  }

  private async post(path: string, body: unknown): Promise<boolean> {
    try {
      const res = await fetch(`${this.opts.routerUrl}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await res.arrayBuffer();
      if (res.ok) return true;
      if (this.failuresInRow === 0) {
        log(res.status === 401 ? "error" : "warn", "router refused a report", {
          path,
          status: res.status,
          hint: res.status === 401 ? "worker id or MASTER_TOKEN not known to the router" : undefined,
        });
      }
      return false;
    } catch (e) {
      if (this.failuresInRow === 0) log("warn", "router unreachable", { path, error: (e as Error).message });
      return false;
    }
  }
}
