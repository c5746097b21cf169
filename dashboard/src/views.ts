// What the dashboard shows, as functions from API answers to elements: the endpoints, the selected
// endpoint's cards, its workers (live reports joined with rented instances) and a worker's detail,
// and recent events with their reasons.
import type { AdminEvent, EndpointMetrics, EndpointSummary, InstanceList, Overview } from "../../core/admin-api.ts";
import { countByState, type FleetRow } from "../../core/fleet-view.ts";
import { age, clock, dollars, h, table, units } from "./dom.ts";

function states(counts: Record<string, number>): HTMLElement {
  const chips = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => h("span", { class: `chip state-${state}`, "data-state": state }, `${n} ${state}`));
  return h("span", { class: "chips" }, ...(chips.length ? chips : ["none"]));
}

export function endpointsTable(overview: Overview, selected: string | undefined, onSelect: (name: string) => void): HTMLElement {
  const rows = overview.endpoints.map((e) => ({
    attrs: { "data-testid": "endpoint-row", "data-name": e.name, "aria-selected": String(e.name === selected) },
    cells: [e.name, e.endpoint_state, states(e.workers), `${units(e.load)} / ${units(e.hot_capacity)}`, units(e.cold_capacity), `${dollars(e.cost.dph_now)}/h`, dollars(e.cost.spent_today)],
  }));
  if (rows.length === 0) return h("p", {}, "No endpoints yet. Create one with `gpuctl endpoints create <name>`.");
  return table(["Endpoint", "State", "Workers", "Load / hot (u/s)", "Cold (u/s)", "$/h now", "Spent today"], rows, (i) => onSelect(overview.endpoints[i]!.name));
}

function card(label: string, value: Node | string, testid: string): HTMLElement {
  return h("div", { class: "card", "data-testid": testid }, h("div", { class: "card-label" }, label), h("div", { class: "card-value" }, value));
}

export function cards(summary: EndpointSummary, fleet: readonly FleetRow[], metrics: EndpointMetrics): HTMLElement {
  const counts = countByState(fleet);
  return h(
    "div",
    { class: "cards" },
    card("Workers", states(counts), "card-workers"),
    card("Ready", String(counts.ready), "ready-count"),
    card("Load / hot capacity", `${units(summary.load)} / ${units(summary.hot_capacity)} u/s`, "card-load"),
    card("Cold tier", `${counts.stopped} stopped, ${units(summary.cold_capacity)} u/s`, "card-cold"),
    card("Waiting at the edge", `${metrics.waiting.requests} requests`, "card-waiting"),
    card("$/h now", dollars(summary.cost.dph_now), "card-dph"),
    card("Spent today (UTC)", dollars(summary.cost.spent_today), "card-spent"),
  );
}

export function workersTable(rows: readonly FleetRow[], selected: string | undefined, onSelect: (id: string) => void): HTMLElement {
  if (rows.length === 0) return h("p", { class: "muted" }, "No workers: the scaler rents some when requests arrive (or min_load asks for capacity).");
  return table(
    ["Worker", "State", "Load", "Capacity", "$/h", "Last report", "GPU"],
    rows.map((r) => ({
      attrs: { "data-testid": "worker-row", "data-id": r.id, "data-state": r.state, "aria-selected": String(r.id === selected) },
      cells: [r.id, h("span", { class: `chip state-${r.state}` }, r.state), units(r.load), units(r.capacity), r.dph === null ? "–" : dollars(r.dph), age(r.last_report_s), r.gpu ?? "–"],
    })),
    (i) => onSelect(rows[i]!.id),
  );
}

export function workerDetail(row: FleetRow | undefined, cost: InstanceList["cost"]): HTMLElement {
  if (!row) return h("p", { class: "muted" }, "Select a worker for its detail.");
  const w = row.worker;
  const i = row.instance;
  const at = (ms: number | null | undefined) => (ms ? new Date(ms).toLocaleString() : "–");
  const fields: [string, string][] = [
    ["state", row.state],
    ["url", w?.url ?? "–"],
    ["load in flight", w ? `${units(w.cur_load)} reported + ${units(w.pending_load)} routed since` : "–"],
    ["measured capacity", `${units(row.capacity)} u/s`],
    ["last report", age(row.last_report_s)],
    ["model load time", w ? `${units(w.loadtime)} s` : "–"],
    ["agent version", w?.version ?? "–"],
    ["drained by the scaler", w?.drained ? "yes" : "no"],
    ["error", w?.error_msg || "–"],
    ["GPU", row.gpu ?? "–"],
    ["Vast instance", i ? `${i.vast_instance_id ?? "not yet"} (${i.status})` : "attached by hand"],
    ["group", row.group ?? "–"],
    ["price", i?.dph_total != null ? `${dollars(i.dph_total)}/h${i.billed ? "" : " (not billed while stopped)"}` : "–"],
    ["rented", at(i?.created_at)],
    ["first ready", at(i?.ready_at)],
  ];
  return h(
    "div",
    { class: "worker-detail", "data-testid": "worker-detail", "data-id": row.id },
    h("h4", {}, row.id),
    h("dl", {}, ...fields.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("p", { class: "muted" }, `Endpoint cost so far today: ${dollars(cost.spent_today)}.`),
  );
}

export function eventList(events: readonly AdminEvent[]): HTMLElement {
  if (events.length === 0) return h("p", { class: "muted" }, "No events yet.");
  return h(
    "ol",
    { class: "events" },
    ...events.map((e) =>
      h(
        "li",
        { class: `event kind-${e.kind}`, "data-testid": "event", "data-action": e.action },
        h("time", { datetime: new Date(e.at).toISOString() }, clock(e.at)),
        h("span", { class: "event-action" }, e.action),
        h("span", { class: `event-outcome ${e.outcome === "ok" ? "ok" : ""}` }, e.outcome),
        h("span", { class: "event-reason" }, e.reason),
      ),
    ),
  );
}
