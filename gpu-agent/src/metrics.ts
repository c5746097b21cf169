// Prometheus text exposition for GET /metrics: requests by outcome, latency of forwarded requests,
// and the gauges the agent reports to the router. Hand-written: the format is small and stable.

export const OUTCOMES = [
  "ok",
  "backend_client_error",
  "bad_request",
  "unauthorized",
  "rejected",
  "unavailable",
  "cancelled",
  "backend_error",
  "backend_timeout",
  "backend_unavailable",
] as const;
export type CallOutcome = (typeof OUTCOMES)[number];

/** The outcome of a request the agent answered itself, by status. */
export function outcomeOfStatus(status: number): CallOutcome {
  if (status === 401 || status === 403) return "unauthorized";
  if (status === 429) return "rejected";
  if (status === 499) return "cancelled";
  if (status === 502) return "backend_error";
  if (status === 503) return "unavailable";
  if (status === 504) return "backend_timeout";
  return "bad_request";
}

/** Latency buckets (s): LLM answers span milliseconds (errors) to minutes (long generations). */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export interface Gauges {
  in_flight_load: number;
  in_flight_requests: number;
  max_perf: number;
  ready: number;
  reports_failed_total: number;
}

export class Metrics {
  private readonly counts = new Map<CallOutcome, number>(OUTCOMES.map((o) => [o, 0]));
  private readonly bucketCounts = new Array<number>(BUCKETS.length).fill(0);
  private latencySum = 0;
  private latencyCount = 0;

  count(outcome: CallOutcome): void {
    this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + 1);
  }

  /** A forwarded request's time from arrival to the end of its answer. */
  observe(seconds: number): void {
    this.latencySum += seconds;
    this.latencyCount++;
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) this.bucketCounts[i]!++;
  }

  countOf(outcome: CallOutcome): number {
    return this.counts.get(outcome) ?? 0;
  }

  render(g: Gauges): string {
    const lines = [
      "# HELP gpu_agent_requests_total Model requests by outcome.",
      "# TYPE gpu_agent_requests_total counter",
      ...OUTCOMES.map((o) => `gpu_agent_requests_total{outcome="${o}"} ${this.counts.get(o) ?? 0}`),
      "# HELP gpu_agent_request_duration_seconds Forwarded requests, arrival to end of answer.",
      "# TYPE gpu_agent_request_duration_seconds histogram",
      ...BUCKETS.map((b, i) => `gpu_agent_request_duration_seconds_bucket{le="${b}"} ${this.bucketCounts[i]}`),
      `gpu_agent_request_duration_seconds_bucket{le="+Inf"} ${this.latencyCount}`,
      `gpu_agent_request_duration_seconds_sum ${this.latencySum}`,
      `gpu_agent_request_duration_seconds_count ${this.latencyCount}`,
    ];
    const gauge = (name: string, help: string, value: number, type = "gauge") =>
      lines.push(`# HELP gpu_agent_${name} ${help}`, `# TYPE gpu_agent_${name} ${type}`, `gpu_agent_${name} ${value}`);
    gauge("in_flight_load", "Workload units in flight.", g.in_flight_load);
    gauge("in_flight_requests", "Requests in flight.", g.in_flight_requests);
    gauge("max_perf", "Benchmarked capacity, workload units per second.", g.max_perf);
    gauge("ready", "1 when the worker accepts requests.", g.ready);
    gauge("reports_failed_total", "Reports to the router that failed.", g.reports_failed_total, "counter");
    return `${lines.join("\n")}\n`;
  }
}
