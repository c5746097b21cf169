// The stand-in's market: one offer per machine slot, built from GPU specs, filtered and ordered the
// way Vast's `POST /bundles/` does ({field: {op: value}}, order, limit). A rented slot leaves the
// market; it comes back when its instance is stopped (someone else may then rent it) or destroyed.
import type { OfferQuery, QueryOp, VastOffer } from "../../core/vast-api.ts";
import type { GpuSpec } from "./options.ts";

/** An offer plus the fields a query may filter on that the scaler does not read back. */
export interface SimOffer extends VastOffer {
  machine_id: number;
  reliability: number;
  dlperf: number;
  rentable: boolean;
  rented: boolean;
  verified: boolean;
  disk_space: number;
  cuda_max_good: number;
  geolocation: string;
}

const REGIONS = ["US", "CA", "DE", "NL", "JP"];

export function buildCatalogue(specs: readonly GpuSpec[]): SimOffer[] {
  const offers: SimOffer[] = [];
  let id = 31_000_000;
  let machine = 40_000;
  for (const spec of specs) {
    for (let i = 0; i < spec.machines; i++) {
      offers.push({
        id: id++,
        machine_id: machine++,
        gpu_name: spec.gpu_name,
        num_gpus: 1,
        gpu_ram: spec.gpu_ram,
        // Small spread between machines of one type, as on the real market.
        dph_total: Math.round(spec.dph_total * (1 + 0.03 * i) * 10_000) / 10_000,
        reliability: 0.995 - 0.002 * i,
        dlperf: Math.round((spec.gpu_ram / 1000) * 3),
        rentable: true,
        rented: false,
        verified: true,
        disk_space: 500,
        cuda_max_good: 12.4,
        geolocation: REGIONS[i % REGIONS.length]!,
      });
    }
  }
  return offers;
}

function compare(actual: unknown, op: QueryOp, expected: unknown): boolean {
  switch (op) {
    case "eq":
      return actual === expected;
    case "neq":
      return actual !== expected;
    case "gt":
      return typeof actual === "number" && typeof expected === "number" && actual > expected;
    case "gte":
      return typeof actual === "number" && typeof expected === "number" && actual >= expected;
    case "lt":
      return typeof actual === "number" && typeof expected === "number" && actual < expected;
    case "lte":
      return typeof actual === "number" && typeof expected === "number" && actual <= expected;
    case "in":
      return Array.isArray(expected) && expected.includes(actual);
    case "notin":
      return Array.isArray(expected) && !expected.includes(actual);
  }
}

const CONTROL = new Set(["limit", "order", "type"]);

/** Offers matching every condition of the query, ordered and limited. Unknown fields never match. */
export function searchOffers(offers: readonly SimOffer[], query: OfferQuery): SimOffer[] {
  const conditions = Object.entries(query).filter(([field]) => !CONTROL.has(field)) as [string, Partial<Record<QueryOp, unknown>>][];
  const matched = offers.filter((o) =>
    conditions.every(([field, ops]) => Object.entries(ops).every(([op, value]) => compare((o as unknown as Record<string, unknown>)[field], op as QueryOp, value))),
  );
  const order = query.order ?? [["score", "desc"]];
  matched.sort((a, b) => {
    for (const [field, dir] of order) {
      const x = (a as unknown as Record<string, unknown>)[field];
      const y = (b as unknown as Record<string, unknown>)[field];
      if (typeof x === "number" && typeof y === "number" && x !== y) return dir === "asc" ? x - y : y - x;
    }
    return a.id - b.id;
  });
  return matched.slice(0, query.limit ?? 64);
}

/** The wire form of an offer (what `/bundles/` answers). */
export function offerAnswer(o: SimOffer): Record<string, unknown> {
  return { ...o };
}
