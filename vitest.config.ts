// One vitest run, one project per runtime: pure modules and the agent in Node, Workers code in
// workerd with the real D1 migrations applied.
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { dirname } from "node:path";
import { defineConfig } from "vitest/config";
import { generateDevSecrets } from "./scripts/dev-secrets.ts";
// The values the scaler project's global setup provides (router bundle, stand-in Vast URL).
import type {} from "./scaler-worker/test/global-setup.ts";

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  const secrets = await generateDevSecrets("test-admin-token");
  return {
    test: {
      // Most of the end-to-end time is waiting (instances booting, leases expiring, forecast windows
      // passing), not CPU: three files at once on two cores roughly halves the wall time.
      maxWorkers: 3,
      projects: [
        {
          test: {
            name: "node",
            environment: "node",
            include: ["core/test/**/*.test.ts", "gpu-agent/test/**/*.test.ts", "sim/**/test/**/*.test.ts", "test/**/*.test.ts", "cli/test/**/*.test.ts"],
          },
        },
        {
          plugins: [
            cloudflareTest({
              main: "./router-worker/src/index.ts",
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: { ...secrets, TEST_MIGRATIONS: migrations, ROUTE_HOLD_MS: "300", ROUTE_RATE_PER_KEY: "20" },
                workers: [
                  {
                    // Stand-in for the scaler's scale-now entrypoint: records the calls it receives.
                    name: "gpu-scaler",
                    modules: true,
                    compatibilityDate: "2026-04-20",
                    script: `
                      import { WorkerEntrypoint } from "cloudflare:workers";
                      const calls = [];
                      export default class extends WorkerEntrypoint {
                        async scaleNow(endpoint, reason) { calls.push({ endpoint, reason }); }
                        async calls() { return calls; }
                      }`,
                  },
                ],
              },
            }),
          ],
          test: {
            name: "router",
            // Generous: these run beside heavier projects on 2 cores; they assert behaviour, not speed.
            testTimeout: 30_000,
            include: ["router-worker/test/**/*.test.ts"],
            setupFiles: ["./router-worker/test/apply-migrations.ts"],
          },
        },
        {
          // The scaler in workerd against the real router (bundled by the global setup, bound by
          // script_name as in production) and the stand-in Vast over real HTTP. Files run one at a
          // time: they share one stand-in account.
          plugins: [
            cloudflareTest(async ({ inject }) => ({
              main: "./scaler-worker/src/index.ts",
              wrangler: { configPath: "./scaler-worker/wrangler.toml" },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  VAST_API_KEY: "sim-key",
                  VAST_API_URL: `${inject("vastUrl")}/api/v0`,
                  REPORT_ADDR: "http://router.test",
                  VAST_BACKOFF_BASE_MS: "20",
                  VAST_BACKOFF_CAP_MS: "200",
                  VAST_TIMEOUT_MS: "1500",
                },
                serviceBindings: { ROUTER: "gpu-router", SCALE_NOW_SWITCH: "scale-now-switch" },
                workers: [
                  {
                    // Between the router and the scaler: records the router's scale-now calls and
                    // forwards them to the scaler only when a test turns it on, so the other tests'
                    // passes are not raced by the router's fast path.
                    name: "scale-now-switch",
                    modules: true,
                    compatibilityDate: "2026-04-20",
                    serviceBindings: { SCALER: "vitest-pool-workers-runner-scaler" },
                    script: `
                      import { WorkerEntrypoint } from "cloudflare:workers";
                      let forward = false;
                      const calls = [];
                      export default class extends WorkerEntrypoint {
                        async scaleNow(endpoint, reason) {
                          calls.push({ endpoint, reason });
                          if (forward) await this.env.SCALER.scaleNow(endpoint, reason);
                        }
                        async setForward(on) { forward = on; }
                        async calls() { return calls; }
                      }`,
                  },
                  {
                    name: "gpu-router",
                    modules: true,
                    scriptPath: inject("routerBundle"),
                    // The bundle lives in a temp dir: module paths are resolved from there.
                    modulesRoot: dirname(inject("routerBundle")),
                    compatibilityDate: "2026-04-20",
                    bindings: { ...secrets, ROUTE_HOLD_MS: "0", ROUTE_RATE_PER_KEY: "1000" },
                    d1Databases: { DB: "00000000-0000-4000-8000-000000000000" },
                    durableObjects: { ENDPOINTS: { className: "EndpointObject", useSQLite: true } },
                    serviceBindings: { SCALER: "scale-now-switch" },
                  },
                ],
              },
            })),
          ],
          test: {
            name: "scaler",
            include: ["scaler-worker/test/**/*.test.ts"],
            setupFiles: ["./scaler-worker/test/apply-migrations.ts"],
            globalSetup: ["./scaler-worker/test/global-setup.ts"],
            fileParallelism: false,
          },
        },
      ],
    },
  };
});
