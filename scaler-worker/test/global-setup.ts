// Before the scaler's workerd tests: bundle the router (its Durable Object serves snapshot() to the
// scaler, as in production) and start the stand-in Vast in Node without processes (instances only
// change state). Both are handed to the pool config and the tests through vitest's provide/inject.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { VastSimOptions } from "../../sim/vast/options.ts";
import { startVastSim } from "../../sim/vast/server.ts";

const ROOT = resolve(import.meta.dirname, "../..");

declare module "vitest" {
  export interface ProvidedContext {
    routerBundle: string;
    vastUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const outdir = mkdtempSync(join(tmpdir(), "router-bundle-"));
  await promisify(execFile)(resolve(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", outdir, "-c", "wrangler.toml"], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  const sim = await startVastSim(
    VastSimOptions.parse({ processes: false, rate: 0, faults: { scheduleMs: 0, loadMs: 30, startMs: 20, stopMs: 20, hangMs: 3000 } }),
  );
  project.provide("routerBundle", join(outdir, "index.js"));
  project.provide("vastUrl", sim.url);
  return async () => {
    await sim.close();
    rmSync(outdir, { recursive: true, force: true });
  };
}
