// Helpers for the end-to-end tests: a whole local stack (router + scaler in workerd, the stand-in Vast
// with real agents and model servers) per test file, endpoints on it, and the ledger beside the account.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEMO_GROUP } from "../../scripts/demo-endpoint.ts";
import { startLocalStack, type LocalStack, type LocalStackOptions } from "../../scripts/local-stack.ts";

export interface TestStack extends LocalStack {
  stateDir: string;
  close(): Promise<void>;
}

/** Short forecast windows and graces so a test sees minutes of policy in seconds. */
export const FAST_SCALER = { SHORT_WINDOW_S: "5", LONG_WINDOW_S: "10", CREATE_GRACE_S: "5", GONE_GRACE_S: "3", LEASE_TTL_S: "20" };

export async function testStack(opts: Partial<LocalStackOptions> = {}): Promise<TestStack> {
  const stateDir = mkdtempSync(join(tmpdir(), "e2e-"));
  const stack = await startLocalStack({ stateDir, ...opts, scalerVars: { ...FAST_SCALER, ...opts.scalerVars } });
  return Object.assign(stack, {
    stateDir,
    async close() {
      await stack.dispose();
      rmSync(stateDir, { recursive: true, force: true });
    },
  });
}

export async function admin<T = Record<string, unknown>>(stack: LocalStack, method: string, path: string, body?: unknown): Promise<T> {
  const res = await stack.admin.call(method, path, body);
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

let n = 0;
/** An endpoint with the demo's worker group (short benchmark, fast simulated model) and a key. */
export async function endpoint(stack: LocalStack, params: Record<string, unknown> = {}): Promise<{ name: string; apiKey: string }> {
  const name = `e2e-${process.pid}-${n++}`;
  await admin(stack, "POST", "/endpoints", { name, ...params });
  await admin(stack, "POST", `/endpoints/${name}/workergroups`, DEMO_GROUP);
  const { api_key } = await admin<{ api_key: string }>(stack, "POST", `/endpoints/${name}/keys`);
  return { name, apiKey: api_key };
}

export interface LedgerRow {
  id: string;
  vast_instance_id: number | null;
  status: string;
}

/** Open ledger rows (instances the platform believes it pays for). */
export async function ledger(stack: LocalStack): Promise<LedgerRow[]> {
  const db = await stack.workers.d1();
  const { results } = await db
    .prepare("SELECT id, vast_instance_id, status FROM workers WHERE kind = 'instance' AND closed_at IS NULL ORDER BY id")
    .all<LedgerRow>();
  return results;
}

/** Every instance the stand-in's account has, by label and state. */
export function account(stack: LocalStack): { id: number; label: string | null; intended: string; phase: string }[] {
  return [...stack.sim.account.instances.values()].map((i) => ({ id: i.id, label: i.label, intended: i.intended, phase: i.phase }));
}

/** The ledger and the account agree: one open row per instance, no row without its instance. */
export async function ledgerMatchesAccount(stack: LocalStack): Promise<{ ok: boolean; rows: LedgerRow[]; instances: ReturnType<typeof account> }> {
  const rows = await ledger(stack);
  const instances = account(stack);
  const rowIds = rows.map((r) => r.vast_instance_id).sort();
  const instIds = instances.map((i) => i.id).sort();
  const ok = rowIds.length === instIds.length && rowIds.every((id, i) => id === instIds[i]) && instances.every((i) => rows.some((r) => i.label?.endsWith(r.id)));
  return { ok, rows, instances };
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function workers(stack: LocalStack, name: string): Promise<{ id: string; phase: string; max_perf: number }[]> {
  return (await admin<{ workers: { id: string; phase: string; max_perf: number }[] }>(stack, "GET", `/endpoints/${name}/workers`)).workers;
}

export async function events(stack: LocalStack, name: string): Promise<{ action: string; reason: string; outcome: string }[]> {
  return (await admin<{ events: { action: string; reason: string; outcome: string }[] }>(stack, "GET", `/endpoints/${name}/events?limit=500`)).events;
}
