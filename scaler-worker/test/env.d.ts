// Test-only bindings (vitest.config.ts, project "scaler"), by declaration merging.
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** The router Worker (bundled by the global setup): admin API, /route/, /worker_status/. */
    ROUTER: Fetcher;
  }
}
