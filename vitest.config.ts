// One vitest run, one project per runtime: pure modules and the agent in Node, Workers code in
// workerd with the real D1 migrations applied.
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { generateDevSecrets } from "./scripts/dev-secrets.ts";

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  const secrets = await generateDevSecrets("test-admin-token");
  return {
    test: {
      projects: [
        {
          test: {
            name: "node",
            environment: "node",
            include: ["core/test/**/*.test.ts", "gpu-agent/test/**/*.test.ts", "sim/**/test/**/*.test.ts", "test/**/*.test.ts"],
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
            include: ["router-worker/test/**/*.test.ts"],
            setupFiles: ["./router-worker/test/apply-migrations.ts"],
          },
        },
      ],
    },
  };
});
