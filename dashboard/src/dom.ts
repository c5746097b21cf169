// A small element builder: text always goes in as text (event reasons and worker errors come from
// outside), so the page never parses data as HTML.

type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === "number" ? String(c) : c);
  return el;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

/** A table with a header row; `onRow` makes rows selectable. */
export function table(headers: string[], rows: { cells: Child[]; attrs?: Record<string, string | undefined> }[], onRow?: (i: number) => void): HTMLTableElement {
  const body = h("tbody");
  rows.forEach((r, i) => {
    const tr = h("tr", r.attrs ?? {}, ...r.cells.map((c) => h("td", {}, c)));
    if (onRow) {
      tr.tabIndex = 0;
      tr.addEventListener("click", () => onRow(i));
      tr.addEventListener("keydown", (e) => e.key === "Enter" && onRow(i));
    }
    body.append(tr);
  });
  return h("table", {}, h("thead", {}, h("tr", {}, ...headers.map((t) => h("th", { scope: "col" }, t)))), body);
}

/** $1.23; a small non-zero amount says so rather than rounding to $0.00. */
export const dollars = (x: number) => (x > 0 && x < 0.005 ? "< $0.01" : `$${x.toFixed(2)}`);
export const units = (x: number) => (Number.isInteger(x) ? String(x) : x >= 100 ? x.toFixed(0) : x.toFixed(1));
export const age = (s: number | null) => (s === null ? "never" : s < 90 ? `${Math.round(s)}s ago` : s < 5400 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`);
export const clock = (ms: number) => new Date(ms).toLocaleTimeString([], { hour12: false });
