// Drains are router calls, not Vast calls: the endpoint's Durable Object stops (or resumes) routing
// new requests to some of its workers (`setDrain`), one call per endpoint and direction, like
// `forget`. No ledger intent is written: the router keeps the flag and every snapshot shows it, so a
// call that failed is simply decided again by the next pass. A drained worker is released by the
// policy once idle; a restarted one has its drain cleared (the router keeps the flag across a stop).
import type { Action } from "../../core/fleet.ts";
import type { EndpointFleet } from "./fleet-picture.ts";
import type { ScaleEvent } from "./ledger-store.ts";

export type DrainAction = Extract<Action, { kind: "drain" | "undrain" }>;

export interface DrainCall {
  fleet: EndpointFleet;
  action: DrainAction;
}

export interface DrainTarget {
  /** `EndpointObject.setDrain` of the endpoint's object: how many workers changed. */
  setDrain(endpoint: string, workerIds: string[], drained: boolean): Promise<number>;
}

export interface DrainResult {
  /** One event per worker, outcome `ok` or `failed: …`. */
  events: ScaleEvent[];
  /** The calls that reached the router. */
  done: DrainCall[];
}

export const isDrainAction = (a: Action): a is DrainAction => a.kind === "drain" || a.kind === "undrain";

/** Sends the calls, batched per endpoint and direction, at most `concurrency` at once. */
export async function applyDrains(objects: DrainTarget, calls: readonly DrainCall[], concurrency: number): Promise<DrainResult> {
  const batches = new Map<string, DrainCall[]>();
  for (const c of calls) {
    const key = `${c.action.kind}\u0000${c.fleet.endpoint.name}`;
    (batches.get(key) ?? batches.set(key, []).get(key)!).push(c);
  }
  const out: DrainResult = { events: [], done: [] };
  const list = [...batches.values()];
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const batch = list[next++]!;
      const { fleet, action } = batch[0]!;
      let outcome = "ok";
      try {
        await objects.setDrain(fleet.endpoint.name, batch.map((c) => c.action.instanceId), action.kind === "drain");
        out.done.push(...batch);
      } catch (e) {
        outcome = `failed: ${String(e).slice(0, 120)}`;
      }
      for (const c of batch) {
        const vastId = c.fleet.input.instances.find((v) => v.id === c.action.instanceId)?.vastId ?? null;
        out.events.push({ endpoint: fleet.endpoint.name, action: c.action.kind, reason: c.action.reason, outcome, detail: { worker: c.action.instanceId, instance: vastId } });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), list.length) }, worker));
  return out;
}
