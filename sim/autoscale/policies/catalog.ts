// The policies every trace is run through, in the order the tables list them.
import type { PolicySetup } from "../run-trace.ts";
import { knativeKpa } from "./knative-kpa.ts";
import { oursNext } from "./ours-next.ts";
import { ours } from "./ours.ts";
import { bestPerfPerDollar, type Offer, type ScalingPolicy } from "./policy.ts";
import { skyServe } from "./skyserve.ts";
import { peakWorkers, staticPeak } from "./static-peak.ts";
import { vastDoc } from "./vast-doc.ts";

export function offersOf(setup: PolicySetup): Offer[] {
  return setup.gpus.map((g) => ({ gpu_name: g.name, gpu_ram_gb: g.gpu_ram_gb, dph: g.dph, storage_dph: g.storage_dph, expected_perf: setup.perf.get(g.name) ?? 0 }));
}

/** The production policy, the proposed changes to it, and the baselines. */
export function policyCatalog(setup: PolicySetup): ScalingPolicy[] {
  const best = bestPerfPerDollar(offersOf(setup));
  const book = Object.fromEntries(setup.perf);
  return [
    ours(),
    oursNext({ name: "ours-next", perfBook: book, drain: true, backlog: true, burst: true }),
    staticPeak(peakWorkers(setup.trace.requests, best.expected_perf, 0.9), best.gpu_name),
    vastDoc(),
    knativeKpa(),
    skyServe(),
  ];
}

/** Each proposed change alone on top of production, then cumulatively, and one experiment beyond them. */
export function ablationCatalog(setup: PolicySetup): ScalingPolicy[] {
  const book = Object.fromEntries(setup.perf);
  return [
    oursNext({ name: "ours+book", perfBook: book }),
    oursNext({ name: "ours+drain", drain: true }),
    oursNext({ name: "ours+backlog", backlog: true }),
    oursNext({ name: "ours+burst", burst: true }),
    oursNext({ name: "drain+book", drain: true, perfBook: book }),
    oursNext({ name: "drain+book+backlog", drain: true, perfBook: book, backlog: true }),
    oursNext({ name: "next+granular", perfBook: book, drain: true, backlog: true, burst: true, granular: true }),
  ];
}
