// Helpers for the fault tests on the real stack: an endpoint's fleet as the stand-in's account holds
// it, "settled at its desired size", and the count of scaler passes it takes to get there.
import { account, events, ledgerMatchesAccount, workers, type TestStack } from "./stack.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The endpoint's instances in the stand-in's account (by the ENDPOINT the scaler put in their env). */
export function fleetOf(stack: TestStack, name: string) {
  return account(stack).filter((i) => stack.sim.account.instances.get(i.id)?.request?.env?.ENDPOINT === name);
}

export interface Settled {
  ok: boolean;
  why: string;
}

/**
 * The fleet is at its desired size: exactly `desired` instances, all intended running and running,
 * each one's worker reporting ready to the router, no two with the same label, and the ledger equal
 * to the account (one open row per instance, no row without its instance).
 */
export async function settled(stack: TestStack, name: string, desired: number): Promise<Settled> {
  const fleet = fleetOf(stack, name);
  if (fleet.length !== desired) return { ok: false, why: `${fleet.length} instances, want ${desired}` };
  const notRunning = fleet.filter((i) => i.intended !== "running" || i.phase !== "running");
  if (notRunning.length > 0) return { ok: false, why: `not running: ${notRunning.map((i) => `${i.id}:${i.intended}/${i.phase}`).join(", ")}` };
  const labels = fleet.map((i) => i.label);
  if (new Set(labels).size !== labels.length) return { ok: false, why: `doubled labels: ${labels.join(", ")}` };
  const ready = new Set((await workers(stack, name)).filter((w) => w.phase === "ready").map((w) => w.id));
  const notReady = fleet.filter((i) => ![...ready].some((id) => i.label?.endsWith(id)));
  if (notReady.length > 0) return { ok: false, why: `not ready at the router: ${notReady.map((i) => i.id).join(", ")}` };
  const m = await ledgerMatchesAccount(stack);
  if (!m.ok) return { ok: false, why: `ledger ${JSON.stringify(m.rows)} ≠ account ${JSON.stringify(m.instances)}` };
  return { ok: true, why: "" };
}

/**
 * Runs scaler passes `gapMs` apart (a compressed cron) until the fleet is settled; the fleet may
 * finish booting after the last pass (within `bootMs`) but no further pass is run. Returns the
 * number of passes used, or throws with the last reason after `maxTicks`.
 */
export async function ticksToSettle(stack: TestStack, name: string, desired: number, opts: { maxTicks: number; gapMs: number; bootMs: number }): Promise<number> {
  let last: Settled = { ok: false, why: "no pass run" };
  for (let t = 1; t <= opts.maxTicks; t++) {
    await stack.scaled();
    const until = Date.now() + (t === opts.maxTicks ? opts.bootMs : opts.gapMs);
    for (;;) {
      last = await settled(stack, name, desired);
      if (last.ok) return t;
      if (Date.now() > until) break;
      await sleep(250);
    }
  }
  throw new Error(`not settled at ${desired} after ${opts.maxTicks} passes: ${last.why}`);
}

/** Counts of the scaler's actions (and failed passes) in the endpoint's event log, by outcome. */
export async function actionCounts(stack: TestStack, name: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const e of await events(stack, name)) {
    if (e.action === "decide") continue;
    const key = `${e.action}:${e.outcome.startsWith("failed") ? "failed" : e.outcome}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
