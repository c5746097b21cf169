// The road to production: both Workers bundle with `wrangler deploy --dry-run`, exactly as a deploy would,
// and only the scaler's config asks for the Vast API key.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");
const run = promisify(execFile);

async function dryRun(config: string): Promise<{ files: string[]; output: string }> {
  const outdir = mkdtempSync(join(tmpdir(), "dry-run-"));
  try {
    const { stdout, stderr } = await run(resolve(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", outdir, "-c", config], {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    });
    return { files: readdirSync(outdir), output: stdout + stderr };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe("wrangler deploy --dry-run", () => {
  it("bundles the router Worker with its Durable Object, D1 and scaler bindings", async () => {
    const { files, output } = await dryRun("wrangler.toml");
    expect(files).toContain("index.js");
    expect(output).toMatch(/env\.ENDPOINTS \(EndpointObject\)/);
    expect(output).toMatch(/env\.DB/);
    expect(output).toMatch(/env\.SCALER \(gpu-scaler\)/);
    // The bindings a deploy would give it: none carries the Vast API key.
    expect(output).not.toMatch(/VAST_API/);
    // The dashboard: its custom build ran and its static files go up with the Worker.
    expect(output).toMatch(/env\.ASSETS\s+Assets/);
    expect(output).toMatch(/Read \d+ files from the assets directory/);
    expect(existsSync(resolve(ROOT, "dashboard/public/build/app.js"))).toBe(true);
  }, 60_000);

  it("bundles the scaler Worker, which binds the router's Durable Object class", async () => {
    const { files, output } = await dryRun("scaler-worker/wrangler.toml");
    expect(files).toContain("index.js");
    expect(output).toMatch(/env\.ENDPOINTS \(EndpointObject, defined in gpu-router\)/);
  }, 60_000);

  it("keeps the router's invocation logs off: they record request URLs and headers, where Vast's SDK puts API keys", () => {
    const router = readFileSync(resolve(ROOT, "wrangler.toml"), "utf8");
    expect(router).toMatch(/\[observability\.logs\]\s*\ninvocation_logs = false/);
  });

  it("gives the Vast API key to the scaler only", () => {
    const router = readFileSync(resolve(ROOT, "wrangler.toml"), "utf8");
    const scaler = readFileSync(resolve(ROOT, "scaler-worker/wrangler.toml"), "utf8");
    expect(router).not.toMatch(/VAST_API_KEY/);
    expect(scaler).toMatch(/required = \[[^\]]*"VAST_API_KEY"/);
  });
});
