// Running our Workers locally from Node (dev scripts, `npm start`, end-to-end tests, benchmarks):
// local D1 migrated with wrangler, the Workers bundled by `wrangler deploy --dry-run` (exactly what a
// deploy would upload) and served by ONE Miniflare (one workerd process). One process matters: two
// processes sharing a local D1 file fail concurrent writes with SQLITE_BUSY (TOOLCHAIN.md).
import { execFile } from "node:child_process";
import { mkdirSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { Miniflare, type WorkerOptions } from "miniflare";

/** The D1 proxy Miniflare hands to Node (its type is not exported by name). */
export type LocalD1 = Awaited<ReturnType<Miniflare["getD1Database"]>>;
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";

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
    await run(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", resolve(stateDir), "-c", config], {
      cwd: ROOT,
      env: { ...process.env, CI: "1" },
    });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new Error(`applying D1 migrations failed:\n${err.stdout ?? ""}${err.stderr ?? ""}`);
  }
}

export interface WorkerSpec {
  /** Path of the Worker's wrangler config, relative to the repo root. */
  config: string;
  /** Another entry module with the same bindings (benchmarks wrap the router this way). */
  entrypoint?: string;
  /** Vars and secrets, overriding the config's vars and any .dev.vars. */
  vars?: Record<string, string>;
}

export interface LocalWorkers {
  /** The first Worker's URL. */
  url: URL;
  /** Runs the named Worker's cron handler now (what Cloudflare's trigger does every minute). */
  scheduled(name: string): Promise<void>;
  /** The D1 database the Workers share, for tests that read the ledger. */
  d1(): Promise<LocalD1>;
  /** The named Worker's bindings as it sees them (tests check which secrets a Worker holds). */
  bindings(name: string): Promise<Record<string, unknown>>;
  /** Kills the workerd process at once (mid-request, mid-pass) and starts the same bundles on the same state and port. */
  restart(): Promise<void>;
  dispose(): Promise<void>;
}

export interface StartOptions {
  stateDir: string;
  /** Port of the first Worker (0: any free port). */
  port?: number;
  /** Show the Workers' console output (true) or only errors (false). */
  verbose?: boolean;
  /** Receives the Workers' console output instead (tests that read every log line). */
  stdio?: (stdout: Readable, stderr: Readable) => void;
}

async function bundle(spec: WorkerSpec, outdir: string): Promise<string> {
  const args = ["deploy", "--dry-run", "--outdir", outdir, "-c", spec.config];
  if (spec.entrypoint) args.push(resolve(ROOT, spec.entrypoint));
  try {
    await run(WRANGLER, args, { cwd: ROOT });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new Error(`bundling ${spec.config} failed:\n${err.stdout ?? ""}${err.stderr ?? ""}`);
  }
  const script = readdirSync(outdir).find((f) => f.endsWith(".js"));
  if (!script) throw new Error(`no bundle for ${spec.config} in ${outdir}`);
  return join(outdir, script);
}

/**
 * Starts the Workers in one Miniflare, each bound as its wrangler config says; a service binding to a
 * Worker not started here answers 503 (e.g. the router's SCALER when the router runs alone).
 */
export async function startWorkers(specs: WorkerSpec[], opts: StartOptions): Promise<LocalWorkers> {
  const stateDir = resolve(opts.stateDir);
  const names = specs.map((s) => unstable_readConfig({ config: resolve(ROOT, s.config) }).name ?? s.config);
  const scripts = await Promise.all(specs.map((s, i) => bundle(s, join(stateDir, "build", names[i]!))));
  const missing = new Set<string>();
  const workers = specs.map((spec, i): WorkerOptions => {
    const { workerOptions } = unstable_getMiniflareWorkerOptions(resolve(ROOT, spec.config));
    const services = Object.fromEntries(
      Object.entries(workerOptions.serviceBindings ?? {}).map(([binding, target]) => {
        const name = typeof target === "object" && target !== null && "name" in target ? String(target.name) : String(target);
        if (!names.includes(name)) missing.add(name);
        return [binding, target];
      }),
    );
    return {
      ...workerOptions,
      name: names[i]!,
      modules: true,
      scriptPath: scripts[i]!,
      modulesRoot: join(stateDir, "build", names[i]!),
      bindings: { ...workerOptions.bindings, ...spec.vars },
      serviceBindings: services,
    } as WorkerOptions;
  });
  // Stand-ins for Workers not started here: every call to them fails with a clear message.
  for (const name of missing) {
    workers.push({
      name,
      modules: true,
      compatibilityDate: "2026-04-20",
      script: `import { WorkerEntrypoint } from "cloudflare:workers";
        export default class extends WorkerEntrypoint {
          fetch() { return new Response(${JSON.stringify(`${name} is not running here`)}, { status: 503 }); }
        }`,
    });
  }
  const stdio = opts.stdio ?? (opts.verbose ? undefined : (stdout: Readable, stderr: Readable) => (stdout.resume(), stderr.pipe(process.stderr)));
  const launch = (port: number) =>
    new Miniflare({
      host: "127.0.0.1",
      port,
      cf: false,
      // The same layout `wrangler d1 migrations apply --persist-to` and `wrangler dev --persist-to` use.
      d1Persist: join(stateDir, "v3", "d1"),
      durableObjectsPersist: join(stateDir, "v3", "do"),
      ...(stdio ? { handleRuntimeStdio: stdio } : {}),
      workers,
    });
  let mf = launch(opts.port ?? 0);
  const url = await mf.ready;
  return {
    url,
    async scheduled(name) {
      const fetcher = await mf.getWorker(name);
      await fetcher.scheduled({ cron: "* * * * *" });
    },
    d1: () => mf.getD1Database("DB"),
    bindings: (name) => mf.getBindings(name),
    async restart() {
      await mf.dispose().catch(() => undefined);
      mf = launch(Number(url.port));
      await mf.ready;
    },
    dispose: () => mf.dispose(),
  };
}
