// The whole platform in this process: the stand-in Vast (with real agents and simulated model
// servers per running instance), the router and the scaler in workerd, sharing one state dir.
// Used by `npm start`, the end-to-end tests and the benchmarks that need real parts.
import { VastSimOptions } from "../sim/vast/options.ts";
import { freePort } from "../sim/vast/processes.ts";
import { startVastSim, type VastSim } from "../sim/vast/server.ts";
import { mintSecret } from "../core/secret.ts";
import { generateDevSecrets, type DevSecrets } from "./dev-secrets.ts";
import { adminClient, type AdminClient } from "./demo-endpoint.ts";
import { applyLocalMigrations, startWorkers, type LocalWorkers, type StartOptions } from "./local-workers.ts";

export interface LocalStack {
  /** The router's base URL. */
  url: URL;
  workers: LocalWorkers;
  /** Runs one cron pass of the scaler now. */
  scaled(): Promise<void>;
  sim: VastSim;
  secrets: DevSecrets;
  vastKey: string;
  admin: AdminClient;
  /** Kills both Workers at once (mid-pass, if one runs) and starts them again on the same state, port and stand-in. */
  restartWorkers(): Promise<void>;
  /** Stops the scaler, the router, the stand-in and every instance's processes. */
  dispose(): Promise<void>;
}

export interface LocalStackOptions {
  stateDir: string;
  /** Router port (0: any). */
  port?: number;
  secrets?: DevSecrets;
  vastKey?: string;
  /** Stand-in settings (zod input of VastSimOptions); `apiKey` is set from `vastKey`. */
  sim?: Record<string, unknown>;
  routerVars?: Record<string, string>;
  scalerVars?: Record<string, string>;
  /** Show the Workers' console output. */
  verbose?: boolean;
  /** Receives the Workers' console output instead (tests that read every log line). */
  stdio?: StartOptions["stdio"];
}

/** Instances boot in seconds here (at Vast: minutes). */
export const LOCAL_TIMINGS = { scheduleMs: 500, loadMs: 2000, startMs: 500, stopMs: 300 };

export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  const secrets = opts.secrets ?? (await generateDevSecrets());
  const vastKey = opts.vastKey ?? mintSecret("vast_");
  await applyLocalMigrations(opts.stateDir);
  const simOptions = opts.sim ?? {};
  const sim = await startVastSim(
    VastSimOptions.parse({ ...simOptions, faults: { ...LOCAL_TIMINGS, ...((simOptions.faults as object | undefined) ?? {}) }, apiKey: vastKey }),
  );
  try {
    // Agents need the router's URL before it listens (REPORT_ADDR): pick the port first.
    const port = opts.port || (await freePort());
    const specs = [
      { config: "wrangler.toml", vars: { ...secrets, ...opts.routerVars } },
      { config: "scaler-worker/wrangler.toml", vars: { VAST_API_KEY: vastKey, VAST_API_URL: sim.apiUrl, REPORT_ADDR: `http://127.0.0.1:${port}`, ...opts.scalerVars } },
    ];
    const stack: LocalStack = {
      url: new URL(`http://127.0.0.1:${port}`),
      workers: await startWorkers(specs, { stateDir: opts.stateDir, port, verbose: opts.verbose, stdio: opts.stdio }),
      scaled: () => stack.workers.scheduled("gpu-scaler"),
      sim,
      secrets,
      vastKey,
      admin: adminClient(`http://127.0.0.1:${port}`, secrets.ADMIN_TOKEN),
      restartWorkers: () => stack.workers.restart(),
      async dispose() {
        await stack.workers.dispose().catch(() => undefined);
        await sim.close().catch(() => undefined);
      },
    };
    return stack;
  } catch (e) {
    await sim.close();
    throw e;
  }
}
