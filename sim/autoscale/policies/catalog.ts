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

const settings = (over: Partial<ScalingSettings>): ScalingSettings => ({ ...DEFAULT_SCALING, ...over });

/** The production policy with each change taken out alone, and with all of them out (the policy before them). */
export function ablationCatalog(setup: PolicySetup): ScalingPolicy[] {
  const book = sharedBook(setup);
  const before = settings({ drain: false, backlogOverBoot: false, windows: { ...DEFAULT_SCALING.windows, burstS: 0 } });
  return [
    ours({ name: "before (none)", settings: before }),
    ours({ name: "− drain", sharedBook: book, settings: settings({ drain: false }) }),
    ours({ name: "− shared book", settings: DEFAULT_SCALING }),
    ours({ name: "− backlog/boot", sharedBook: book, settings: settings({ backlogOverBoot: false }) }),
    ours({ name: "− burst floor", sharedBook: book, settings: settings({ windows: { ...DEFAULT_SCALING.windows, burstS: 0 } }) }),
  ];
}
