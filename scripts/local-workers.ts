// Running our Workers locally from Node (dev scripts, `npm start`, end-to-end tests, benchmarks):
// local D1 migrated with wrangler, each Worker in workerd via wrangler's unstable_startWorker.
// Workers started with the same state dir find each other through a shared dev registry.
import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { unstable_startWorker } from "wrangler";

const run = promisify(execFile);
export const ROOT = resolve(import.meta.dirname, "..");
const WRANGLER = resolve(ROOT, "node_modules/.bin/wrangler");

process.env.WRANGLER_SEND_METRICS ??= "false";
// No network here: skip the Request.cf download (a 3 s timeout and a warning at every start).
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

/** Applies every D1 migration to the local database kept in `stateDir` (idempotent). */
export async function applyLocalMigrations(stateDir: string, config = "wrangler.toml"): Promise<void> {
  mkdirSync(stateDir, { recursive: true });
  try {
    await run(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir, "-c", config], {
      cwd: ROOT,
      env: { ...process.env, CI: "1" },
    });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new Error(`applying D1 migrations failed:\n${err.stdout ?? ""}${err.stderr ?? ""}`);
  }
}

export interface LocalWorker {
  url: URL;
  /** Triggers the Worker's cron handler now (the scaler). */
  scheduled(): Promise<Response>;
  dispose(): Promise<void>;
}

export interface StartOptions {
  /** Path of the Worker's wrangler config, relative to the repo root. */
  config: string;
  stateDir: string;
  port?: number;
  /** Another entry module with the same bindings (benchmarks wrap the router this way). */
  entrypoint?: string;
  /** Extra or overriding vars (e.g. short timings for tests). */
  vars?: Record<string, string>;
  logLevel?: "none" | "error" | "warn" | "info" | "log" | "debug";
}

export async function startWorker(opts: StartOptions): Promise<LocalWorker> {
  const stateDir = resolve(opts.stateDir);
  const worker = await unstable_startWorker({
    config: resolve(ROOT, opts.config),
    ...(opts.entrypoint ? { entrypoint: resolve(ROOT, opts.entrypoint) } : {}),
    bindings: Object.fromEntries(Object.entries(opts.vars ?? {}).map(([k, v]) => [k, { type: "plain_text", value: v }])),
    dev: {
      server: { hostname: "127.0.0.1", port: opts.port ?? 0 },
      inspector: false,
      persist: stateDir,
      registry: resolve(stateDir, "registry"),
      logLevel: opts.logLevel ?? "warn",
      watch: false,
      testScheduled: true,
    },
  });
  await worker.ready;
  const url = await worker.url;
  return {
    url,
    scheduled: () => fetch(new URL("/cdn-cgi/handler/scheduled", url)),
    dispose: () => worker.dispose(),
  };
}
