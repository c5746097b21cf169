// One surface under fuzz: fast-check generates malformed requests, each is sent to the running
// target, and the property is the issue's: a 4xx the surface documents (never a 5xx, never silence),
// in the documented error shape. Counts per input class and per status are kept for the figures.
import fc from "fast-check";
import { send } from "./body.ts";
import { casesOf, describeCase, materialise, type Surface } from "./cases.ts";
import { CLASSES, type InputClass } from "./fields.ts";

export interface SurfaceRun {
  surface: string;
  cases: number;
  seed: number;
  seconds: number;
  by_class: Partial<Record<InputClass, number>>;
  by_status: Record<string, number>;
  /** The shrunk counterexample and what went wrong, when the property failed. */
  failure: string | null;
}

export interface FuzzOptions {
  numRuns: number;
  seed?: number;
  classes?: readonly InputClass[];
  /** Per-request deadline: no answer by then is a hang. */
  timeoutMs?: number;
}

export async function fuzzSurface<C>(s: Surface<C>, origin: string, ctx: C, opts: FuzzOptions): Promise<SurfaceRun> {
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const byClass: Partial<Record<InputClass, number>> = {};
  const byStatus: Record<string, number> = {};
  let lastProblem = "";
  /** The first failing case as generated (shrinking may wander to a simpler one that fails for the same reason). */
  let firstFailure: string | null = null;
  const started = performance.now();
  let runs = 0;
  const property = fc.asyncProperty(casesOf(s, opts.classes ?? CLASSES), async (c) => {
    runs++;
    const req = await materialise(s, c, ctx);
    let status: number;
    let text: string;
    try {
      ({ status, text } = await send(origin, req, opts.timeoutMs));
    } catch (e) {
      lastProblem = `no answer: ${String(e)}${(e as { cause?: unknown }).cause ? ` (${String((e as { cause?: unknown }).cause)})` : ""}`;
      firstFailure ??= `${describeCase(s, c)}: ${lastProblem}`;
      throw new Error(lastProblem);
    }
    byClass[c.klass] = (byClass[c.klass] ?? 0) + 1;
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    if (!s.statuses.includes(status)) {
      lastProblem = `status ${status} (allowed ${s.statuses.join(", ")}): ${text.slice(0, 300)}`;
      firstFailure ??= `${describeCase(s, c)}: ${lastProblem}`;
      throw new Error(lastProblem);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      lastProblem = `status ${status}, body not JSON: ${text.slice(0, 300)}`;
      firstFailure ??= `${describeCase(s, c)}: ${lastProblem}`;
      throw new Error(lastProblem);
    }
    const shape = s.errorShape(status).safeParse(body);
    if (!shape.success) {
      lastProblem = `status ${status}, body not in the documented shape: ${text.slice(0, 300)}`;
      firstFailure ??= `${describeCase(s, c)}: ${lastProblem}`;
      throw new Error(lastProblem);
    }
  });
  const details = await fc.check(property, { numRuns: opts.numRuns, seed });
  const failure = details.failed
    ? `first: ${firstFailure}; shrunk: ${details.counterexample ? describeCase(s, details.counterexample[0]) : "?"}: ${lastProblem} (seed ${seed}, path ${details.counterexamplePath})`
    : null;
  return {
    surface: s.name,
    cases: details.failed ? runs : details.numRuns,
    seed,
    seconds: (performance.now() - started) / 1000,
    by_class: byClass,
    by_status: byStatus,
    failure,
  };
}
