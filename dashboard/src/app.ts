// The dashboard's wiring: sign in with the admin token, then refresh every few seconds (paused while
// the tab is hidden): all endpoints, and the selected one's workers, chart and events.
import { fleetRows, type FleetRow } from "../../core/fleet-view.ts";
import { api, token, Unauthorized } from "./api.ts";
import { LoadChart } from "./chart.ts";
import { byId, clock } from "./dom.ts";
import { cards, endpointsTable, eventList, workerDetail, workersTable } from "./views.ts";

const REFRESH_MS = 2000;

const state: { endpoint: string | undefined; worker: string | undefined; windowS: number; timer: number | undefined } = {
  endpoint: decodeURIComponent(location.hash.slice(1)) || undefined,
  worker: undefined,
  windowS: 3600,
  timer: undefined,
};
const chart = new LoadChart(byId("chart"));

function showLogin(message = ""): void {
  clearTimeout(state.timer);
  byId("app").hidden = true;
  byId("logout").hidden = true;
  byId("login").hidden = false;
  byId("login-error").textContent = message;
  byId<HTMLInputElement>("token").focus();
}

function status(text: string, error = false): void {
  const el = byId("status");
  el.textContent = text;
  el.classList.toggle("error", error);
}

function select(name: string): void {
  if (name === state.endpoint) return;
  state.endpoint = name;
  state.worker = undefined;
  history.replaceState(null, "", `#${encodeURIComponent(name)}`);
  chart.reset();
  void refresh();
}

let busy = false;
let again = false;

/** One refresh at a time: a refresh asked for meanwhile (a new selection) runs right after. */
async function refresh(): Promise<void> {
  if (busy) {
    again = true;
    return;
  }
  busy = true;
  clearTimeout(state.timer);
  try {
    const overview = await api.overview();
    if (!overview.endpoints.some((e) => e.name === state.endpoint)) state.endpoint = overview.endpoints[0]?.name;
    const summary = overview.endpoints.find((e) => e.name === state.endpoint);
    // Everything is fetched before anything is drawn, so the page never shows two moments at once.
    const detail = summary && (await Promise.all([api.workers(summary.name), api.instances(summary.name), api.metrics(summary.name, state.windowS), api.events(summary.name)]));
    byId("endpoints").replaceChildren(endpointsTable(overview, state.endpoint, select));
    byId("detail").hidden = !summary;
    if (summary && detail) {
      const [workers, instances, metrics, events] = detail;
      const rows: FleetRow[] = fleetRows(workers.workers, instances.instances);
      byId("detail-title").textContent = summary.name;
      byId("cards").replaceChildren(cards(summary, rows, metrics));
      chart.show(metrics);
      const pick = (id: string) => {
        state.worker = id;
        byId("workers").replaceChildren(workersTable(rows, state.worker, pick));
        byId("worker-detail").replaceChildren(workerDetail(rows.find((r) => r.id === id), instances.cost));
      };
      byId("workers").replaceChildren(workersTable(rows, state.worker, pick));
      byId("worker-detail").replaceChildren(workerDetail(rows.find((r) => r.id === state.worker), instances.cost));
      byId("events").replaceChildren(eventList(events.events));
    }
    status(`updated ${clock(Date.now())}`);
  } catch (e) {
    if (e instanceof Unauthorized) {
      busy = again = false;
      token.clear();
      return showLogin("The admin token was refused: sign in again.");
    }
    status(`refresh failed: ${e instanceof Error ? e.message : String(e)} (retrying)`, true);
  }
  busy = false;
  if (again) {
    again = false;
    return refresh();
  }
  state.timer = window.setTimeout(() => void (document.hidden ? undefined : refresh()), REFRESH_MS);
}

function start(): void {
  byId("login").hidden = true;
  byId("app").hidden = false;
  byId("logout").hidden = false;
  void refresh();
}

byId<HTMLFormElement>("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = byId<HTMLInputElement>("token");
  const candidate = input.value.trim();
  byId("login-error").textContent = "";
  api.check(candidate).then(
    () => {
      token.set(candidate);
      input.value = "";
      start();
    },
    (err: unknown) => showLogin(err instanceof Unauthorized ? "That token was refused." : `Could not reach the router: ${String(err)}`),
  );
});
byId("logout").addEventListener("click", () => {
  token.clear();
  showLogin();
});
for (const button of document.querySelectorAll<HTMLButtonElement>("[data-window]")) {
  button.addEventListener("click", () => {
    state.windowS = Number(button.dataset.window);
    for (const b of document.querySelectorAll<HTMLButtonElement>("[data-window]")) b.setAttribute("aria-pressed", String(b === button));
    chart.reset();
    void refresh();
  });
}
document.addEventListener("visibilitychange", () => !document.hidden && token.get() && void refresh());

if (token.get()) start();
else showLogin();
