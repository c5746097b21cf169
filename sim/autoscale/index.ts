// The autoscaling simulator's public surface (wiring only).
export { loadTrace, TRACE_KINDS, DEFAULT_TRACE_DIR, type TraceKind } from "./trace-source.ts";
export { scaleTrace, type Trace, type TraceRequest } from "./trace.ts";
export { runTrace, usableGpus, type TraceRun, type PolicyRun } from "./run-trace.ts";
export { simulate, EPOCH, type SimOptions, type SimResult } from "./simulation.ts";
export { ablationCatalog, BASELINES, policyCatalog } from "./policies/catalog.ts";
export { oracleBound, cheapestOracle } from "./oracle.ts";
export { summarize, SLO } from "./metrics.ts";
export { renderTraceSvg } from "./plot.ts";
export { formatTable, resultsJson, verdict } from "./report.ts";
export { Prng } from "./prng.ts";
export { GPU_TYPES } from "./gpu-model.ts";
export { DEFAULT_MARKET } from "./marketplace.ts";
