// The policies every trace is run through, in the order the tables list them.
import { DEFAULT_SCALING, type ScalingSettings } from "../../../core/scaling-policy.ts";
import type { PolicySetup } from "../run-trace.ts";
import { knativeKpa } from "./knative-kpa.ts";
import { ours } from "./ours.ts";
import { bestPerfPerDollar, type Offer, type ScalingPolicy } from "./policy.ts";
import { skyServe } from "./skyserve.ts";
import { peakWorkers, staticPeak } from "./static-peak.ts";
import { vastDoc } from "./vast-doc.ts";

export function offersOf(setup: PolicySetup): Offer[] {
  return setup.gpus.map((g) => ({ gpu_name: g.name, gpu_ram_gb: g.gpu_ram_gb, dph: g.dph, storage_dph: g.storage_dph, expected_perf: setup.perf.get(g.name) ?? 0 }));
}

/**
 * What other endpoints running the same model measured per GPU type (the scaler reads it from
 * `gpu_perf`): here, every usable type's true rate on the trace. The baselines get the same
 * knowledge: they rent the best perf-per-dollar type from the start.
 */
export function sharedBook(setup: PolicySetup): Record<string, number> {
  return Object.fromEntries(setup.perf);
}

/** The production policy and the baselines. */
export function policyCatalog(setup: PolicySetup): ScalingPolicy[] {
  const best = bestPerfPerDollar(offersOf(setup));
  return [
    ours({ sharedBook: sharedBook(setup) }),
    staticPeak(peakWorkers(setup.trace.requests, best.expected_perf, 0.9), best.gpu_name),
    vastDoc(),
    knativeKpa(),
    skyServe(),
  ];
}

/** The policies the issue compares ours with (the others in a run are variants of ours). */
export const BASELINES = ["static-peak", "vast-doc", "knative-kpa", "skyserve"] as const;

/**
 * Each change to the production policy, as the settings (and shared book) that take it out. In the
 * order they were made: the first four were prototyped in the simulator as "ours-next".
 */
interface Change {
  name: string;
  /** Production with this change taken out. */
  without(s: ScalingSettings): ScalingSettings;
  /** Taking it out also drops the shared perf book. */
  book?: boolean;
}

const CHANGES: readonly Change[] = [
  { name: "drain", without: (s) => ({ ...s, drain: false }) },
  { name: "shared book", without: (s) => s, book: true },
  { name: "backlog/boot", without: (s) => ({ ...s, backlogOverBoot: false }) },
  // The burst floor as prototyped took its peak from max(arrived, served + rejected) with headroom.
  { name: "burst floor", without: (s) => ({ ...s, windows: { ...s.windows, burstS: 0 } }) },
  { name: "windowed demand", without: (s) => ({ ...s, legacy: { ...s.legacy, perBucketDemand: true } }) },
  { name: "burst from arrivals", without: (s) => ({ ...s, legacy: { ...s.legacy, burstFromHandled: true } }) },
  { name: "short at full use", without: (s) => ({ ...s, headroom: { ...s.headroom, short: true } }) },
  { name: "burst at full use", without: (s) => ({ ...s, headroom: { ...s.headroom, burst: true } }) },
];

/**
 * What moved the numbers: the policy before any change, then each change added in turn (the last
 * one is production, listed as "ours"); and production with each change taken out alone.
 */
export function ablationCatalog(setup: PolicySetup): ScalingPolicy[] {
  const book = sharedBook(setup);
  const out: ScalingPolicy[] = [];
  // Cumulative: start from everything out, put changes back one by one.
  for (let k = 0; k < CHANGES.length; k++) {
    const out_ = CHANGES.slice(k);
    const settings = out_.reduce((s, c) => c.without(s), DEFAULT_SCALING);
    const withBook = !out_.some((c) => c.book);
    out.push(ours({ name: k === 0 ? "before (none)" : `+ ${CHANGES[k - 1]!.name}`, settings, ...(withBook ? { sharedBook: book } : {}) }));
  }
  for (const c of CHANGES) out.push(ours({ name: `− ${c.name}`, settings: c.without(DEFAULT_SCALING), ...(c.book ? {} : { sharedBook: book }) }));
  return out;
}
