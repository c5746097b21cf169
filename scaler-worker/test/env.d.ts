// Test-only bindings (vitest.config.ts, project "scaler"), by declaration merging.
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** The router Worker (bundled by the global setup): admin API, /route/, /worker_status/. */
    ROUTER: Fetcher;
    /** Sits on the router's SCALER binding: records scale-now calls, forwards them when switched on. */
    SCALE_NOW_SWITCH: Fetcher & {
      setForward(on: boolean): Promise<void>;
      calls(): Promise<{ endpoint: string; reason: string }[]>;
    };
  }
}
