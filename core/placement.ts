// Where capacity comes from and which goes first: the offer query for a worker group, what a GPU type
// is worth (perf learned from benchmarked workers), and the perf-per-dollar order used both to pick
// offers (best first) and to release workers (worst first). Pure.
import type { OfferQuery, QueryOp, VastOffer } from "./vast-api.ts";

/** Measured capacity per GPU type within one worker group: gpu_name → workload units/s. */
export type PerfBook = Readonly<Record<string, number>>;

/** Vast's `gpu_ram` is MB in offers; groups state GB. Vast's own CLI converts with 1000 (a 24 GB card has 24564 MB). */
const MB_PER_GB = 1000;

export interface GroupPlacement {
  /** The group's offer filter, Vast's `{field: {op: value}}` form. */
  search_params: Readonly<Record<string, Partial<Record<QueryOp, unknown>>>>;
  /** Minimum GPU memory, GB. */
  gpu_ram: number | null;
}

/** The `POST /bundles/` query for a group: its own filter, its memory floor, rentable on-demand offers, cheapest first. */
export function offerQuery(group: GroupPlacement, limit = 64): OfferQuery {
  const query: OfferQuery = { ...structuredClone(group.search_params) };
  if (group.gpu_ram !== null && group.gpu_ram > 0) {
    const floor = group.gpu_ram * MB_PER_GB;
    const own = query.gpu_ram ?? {};
    const gte = typeof own.gte === "number" ? Math.max(own.gte, floor) : floor;
    query.gpu_ram = { ...own, gte };
  }
  query.rentable = { eq: true };
  query.rented = { eq: false };
  query.order = [["dph_total", "asc"]];
  query.type = "ondemand";
  query.limit = limit;
  return query;
}

/** A stable key for a query, so groups with the same filter share one search per tick. */
export function queryKey(query: OfferQuery): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    return v;
  };
  return JSON.stringify(sort(query));
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * What a worker on `gpuName` should deliver: the measured value for that GPU type if the group has
 * one, else the median over the group's measured types (a guess that favours cheaper unknown GPUs,
 * so they get tried), else null: nothing is known yet and the first worker is a probe.
 */
export function estimatePerf(book: PerfBook | undefined, gpuName: string | null): number | null {
  if (!book) return null;
  if (gpuName !== null) {
    const known = book[gpuName];
    if (known !== undefined && known > 0) return known;
  }
  return median(Object.values(book).filter((v) => v > 0));
}

/**
 * Which groups run the same model, so that what one measured is worth knowing for the others: the
 * same template, or else the same image with the same launch arguments. null: nothing to share by.
 */
export function modelKey(g: { template_hash: string | null; image: string | null; launch_args: string | null }): string | null {
  if (g.template_hash) return `template:${g.template_hash}`;
  if (g.image) return `image:${g.image}\u0000${g.launch_args ?? ""}`;
  return null;
}

/**
 * A group's book completed with what other groups running the same model measured (the median per
 * GPU type over them): its own values win. Without it, `estimatePerf` values a type nobody in the
 * group measured at the group's median, so the first type probed (the cheapest per hour) locks in
 * and a type with better perf per dollar is never tried.
 */
export function seedPerfBook(own: PerfBook, others: readonly PerfBook[]): Record<string, number> {
  const byGpu = new Map<string, number[]>();
  for (const book of others) {
    for (const [gpu, v] of Object.entries(book)) {
      if (!(v > 0)) continue;
      const list = byGpu.get(gpu);
      if (list) list.push(v);
      else byGpu.set(gpu, [v]);
    }
  }
  const out: Record<string, number> = {};
  for (const [gpu, values] of byGpu) out[gpu] = median(values)!;
  for (const [gpu, v] of Object.entries(own)) if (v > 0) out[gpu] = v;
  return out;
}

/**
 * Learns from this tick's ready workers: per GPU type, the median of their measured max_perf
 * replaces the stored value; types with no ready worker keep what was learned before.
 */
export function learnPerf(previous: PerfBook, observed: readonly { gpu_name: string | null; max_perf: number }[]): Record<string, number> {
  const byGpu = new Map<string, number[]>();
  for (const o of observed) {
    if (o.gpu_name === null || !(o.max_perf > 0)) continue;
    const list = byGpu.get(o.gpu_name);
    if (list) list.push(o.max_perf);
    else byGpu.set(o.gpu_name, [o.max_perf]);
  }
  const next: Record<string, number> = { ...previous };
  for (const [gpu, values] of byGpu) next[gpu] = median(values)!;
  return next;
}

/** Something with a price and maybe a capacity: an offer, or a worker. */
export interface Priced {
  key: string;
  /** $/h; a zero price is treated as a tiny one so perf/$ stays finite. */
  dph: number;
  perf: number | null;
}

export function perfPerDollar(p: Priced): number | null {
  return p.perf === null ? null : p.perf / Math.max(p.dph, 1e-6);
}

/**
 * Best first: known perf/$ before unknown, higher perf/$ first, then cheaper, then key (so the order
 * is total and the same on every run). Unknown ones are ordered by price alone.
 */
export function compareBestFirst(a: Priced, b: Priced): number {
  const va = perfPerDollar(a);
  const vb = perfPerDollar(b);
  if (va !== null && vb === null) return -1;
  if (va === null && vb !== null) return 1;
  if (va !== null && vb !== null && va !== vb) return vb - va;
  if (a.dph !== b.dph) return a.dph - b.dph;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

export function compareWorstFirst(a: Priced, b: Priced): number {
  return compareBestFirst(b, a);
}

export interface RankedOffer extends Priced {
  groupId: number;
  offer: VastOffer;
}

/** Offers of several groups in one best-first list, each valued with its own group's perf book. */
export function rankOffers(
  byGroup: ReadonlyMap<number, readonly VastOffer[]>,
  books: ReadonlyMap<number, PerfBook>,
): RankedOffer[] {
  const out: RankedOffer[] = [];
  for (const [groupId, offers] of byGroup) {
    const book = books.get(groupId);
    for (const offer of offers) {
      out.push({ key: `${groupId}:${offer.id}`, groupId, offer, dph: offer.dph_total, perf: estimatePerf(book, offer.gpu_name) });
    }
  }
  return out.sort(compareBestFirst);
}
