// The router in workerd through Miniflare directly (no wrangler dev proxy in front), for throughput
// figures: bundled by `wrangler deploy --dry-run`, D1 migrated from migrations/*.sql.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { Miniflare } from "miniflare";
import type { DevSecrets } from "../scripts/dev-secrets.ts";
import { ROOT } from "../scripts/local-workers.ts";

const run = promisify(execFile);

export interface BenchRouter {
  origin: string;
  dispose(): Promise<void>;
}

/** Bundles `entry` with the router's wrangler.toml and serves it on a loopback port. */
export async function startMiniflareRouter(entry: string, secrets: DevSecrets, vars: Record<string, string> = {}, inspectorPort?: number): Promise<BenchRouter> {
  const outdir = mkdtempSync(join(tmpdir(), "bench-bundle-"));
  await run(resolve(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", outdir, "-c", "wrangler.toml", resolve(ROOT, entry)], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  const script = readdirSync(outdir).find((f) => f.endsWith(".js"));
  if (!script) throw new Error(`no bundle in ${outdir}`);
  const toml = readFileSync(resolve(ROOT, "wrangler.toml"), "utf8");
  const fileVars = Object.fromEntries([...toml.matchAll(/^([A-Z_]+) = "([^"]*)"$/gm)].map((m) => [m[1]!, m[2]!]));
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(outdir, script),
    modulesRoot: outdir,
    compatibilityDate: "2026-04-20",
    host: "127.0.0.1",
    port: 0,
    cf: false,
    ...(inspectorPort ? { inspectorPort } : {}),
    d1Databases: { DB: "bench-db" },
    durableObjects: { ENDPOINTS: { className: "EndpointObject", useSQLite: true } },
    // The scaler is not part of this measurement; a warm endpoint never calls it.
    serviceBindings: { SCALER: () => new Response(null, { status: 503 }) },
    bindings: { ...fileVars, ...secrets, ...vars },
  });
  const url = await mf.ready;
  const db = await mf.getD1Database("DB");
  for (const file of readdirSync(resolve(ROOT, "migrations")).filter((f) => f.endsWith(".sql")).sort()) {
    const sql = readFileSync(resolve(ROOT, "migrations", file), "utf8");
    for (const statement of sql.split("--> statement-breakpoint")) if (statement.trim()) await db.prepare(statement).run();
  }
  return {
    origin: url.origin,
    async dispose() {
      await mf.dispose();
      rmSync(outdir, { recursive: true, force: true });
    },
  };
}
