// What commands print: aligned tables and human units for people, JSON for scripts (`--json`), and
// progress on stderr so stdout stays the answer.

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when stderr is a terminal: progress lines are redrawn in place. */
  interactive: boolean;
}

export function printJson(io: Io, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

/** Columns aligned on the widest cell; numbers right-aligned. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const right = headers.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === "number" || /^[\d$.,%/ -]+$/.test(String(r[c]))));
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? "").length)));
  return `${cells
    .map((r) =>
      r
        .map((cell, c) => (right[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")}\n`;
}

export const dollars = (x: number) => (x >= 100 ? `$${x.toFixed(0)}` : `$${x.toFixed(2)}`);
export const perHour = (x: number | null) => (x === null ? "-" : `${dollars(x)}/h`);
/** Workload units: whole numbers as they are, others to about three significant digits. */
export const units = (x: number) => (Number.isInteger(x) ? String(x) : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2).replace(/\.?0+$/, ""));

/** "4s", "3m", "2h", "-" for never. */
export function age(seconds: number | null): string {
  if (seconds === null) return "-";
  if (seconds < 90) return `${Math.round(seconds)}s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)}m`;
  return `${Math.round(seconds / 3600)}h`;
}

/** 2026-04-20 14:03:07 (UTC). */
export const timestamp = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);
