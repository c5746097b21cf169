// `npm start`: the whole platform on one machine. Both Workers in workerd (local D1 and Durable
// Objects under STATE_DIR), the stand-in Vast API launching real gpu-agents in front of simulated
// model servers, the scaler's cron every minute, and a demo endpoint with a key.
// Ctrl-C / SIGTERM stops everything; no process is left behind.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";
import { mintSecret } from "../core/secret.ts";
import { StackInfo, stackInfoPath, writeStackInfo } from "../demo/stack-info.ts";
import { ensureDevSecrets, readDevVars } from "./dev-secrets.ts";
import { ensureDemoEndpoint } from "./demo-endpoint.ts";
import { startLocalStack, type LocalStack } from "./local-stack.ts";
import { ROOT } from "./local-workers.ts";

const Env = z.object({
  PORT: z.coerce.number().int().min(1).max(65_535).default(8787),
  STATE_DIR: z.string().min(1).default(".state"),
  ADMIN_TOKEN: z.string().min(16, "ADMIN_TOKEN must be at least 16 characters").optional(),
  /** Seconds between cron passes of the scaler (production: 60). */
  CRON_INTERVAL_S: z.coerce.number().positive().default(60),
  /** 1: show the Workers' log lines in this terminal (every scaling pass, worker state changes). */
  VERBOSE: z.enum(["0", "1"]).default("0"),
});

const parsed = Env.safeParse(Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== "")));
if (!parsed.success) {
  console.error(`npm start: ${z.prettifyError(parsed.error)}`);
  process.exit(2);
}
const env = parsed.data;
// Wrangler's config warnings are about deploying, not about this stack: its "secrets" field is
// experimental, and it names VAST_API_KEY missing from .dev.vars though the stack supplies it itself.
if (env.VERBOSE === "0") process.env.WRANGLER_LOG ??= "error";
const stateDir = resolve(ROOT, env.STATE_DIR);
mkdirSync(stateDir, { recursive: true });

// ------------------------------------------------------------ one stack per state dir
const lockPath = resolve(stateDir, "start.pid");
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
if (existsSync(lockPath)) {
  const pid = Number(readFileSync(lockPath, "utf8").trim());
  if (pid && pid !== process.pid && alive(pid)) {
    const info = StackInfo.safeParse(existsSync(stackInfoPath(stateDir)) ? JSON.parse(readFileSync(stackInfoPath(stateDir), "utf8")) : {});
    console.error(
      `npm start: the platform is already running from ${env.STATE_DIR} (pid ${pid}${info.success ? `, router ${info.data.router}` : ""}).\n` +
        `Stop it first (Ctrl-C in its terminal, or kill ${pid}), or start another with a different STATE_DIR and PORT.`,
    );
    process.exit(1);
  }
}
writeFileSync(lockPath, `${process.pid}\n`);

async function portFree(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(500) });
    return false;
  } catch (e) {
    return /ECONNREFUSED/.test(String((e as { cause?: unknown }).cause ?? e));
  }
}
if (!(await portFree(env.PORT))) {
  rmSync(lockPath, { force: true });
  console.error(`npm start: port ${env.PORT} is taken by another program; set PORT to a free one (e.g. PORT=8788 npm start).`);
  process.exit(1);
}

// ------------------------------------------------------------ bring-up
let stack: LocalStack | undefined;
let cron: NodeJS.Timeout | undefined;
let stopping = false;

async function stop(code: number): Promise<never> {
  if (stopping) process.exit(code);
  stopping = true;
  console.log("\nstopping: scaler, router, stand-in Vast and its instances' processes…");
  if (cron) clearInterval(cron);
  await stack?.dispose();
  rmSync(lockPath, { force: true });
  console.log("stopped.");
  process.exit(code);
}
let firstSignalAt = 0;
function onSignals(): void {
  // Miniflare installs its own exit-on-signal hook; ours disposes everything in order, so it goes alone.
  // Always listening: a signal with no listener kills the process at once, exit hooks and all, which
  // left the Workers' runtime and an instance's processes running. One Ctrl-C can arrive twice (the
  // terminal signals npm, tsx and this process together, and tsx relays it): a repeat within a
  // second is that echo; a later one forces the exit (the exit hooks still stop every process).
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.removeAllListeners(sig);
    process.on(sig, () => {
      if (stopping && Date.now() - firstSignalAt < 1_000) return;
      if (!stopping) firstSignalAt = Date.now();
      void stop(0);
    });
  }
}
onSignals();
// Whatever ends the process, no instance's processes and no lock outlive it.
process.on("exit", () => {
  stack?.sim.launcher?.killAll();
  if (existsSync(lockPath) && readFileSync(lockPath, "utf8").trim() === String(process.pid)) rmSync(lockPath, { force: true });
});

try {
  const secrets = await ensureDevSecrets(ROOT, env.ADMIN_TOKEN);
  // The scaler's Vast key: the stand-in accepts exactly this key, like an account key at Vast.
  const scalerVars = readDevVars(resolve(stateDir, "scaler.dev.vars"));
  const vastKey = scalerVars.VAST_API_KEY ?? mintSecret("vast_");
  writeFileSync(resolve(stateDir, "scaler.dev.vars"), `VAST_API_KEY='${vastKey}'\n`, { mode: 0o600 });

  console.log("starting: D1 migrations, stand-in Vast, router, scaler…");
  stack = await startLocalStack({
    stateDir,
    port: env.PORT,
    secrets,
    vastKey,
    sim: { logDir: resolve(stateDir, "instances") },
    verbose: env.VERBOSE === "1",
  });
  onSignals();
  const { sim } = stack;
  const routerUrl = stack.url.origin;
  const demo = await ensureDemoEndpoint(stack.admin, stateDir, routerUrl);
  writeStackInfo(stateDir, { router: routerUrl, endpoint: demo.endpoint, api_key: demo.apiKey, admin_token: secrets.ADMIN_TOKEN });

  // The cron trigger, as Cloudflare fires it in production (wrangler dev does not fire crons by itself).
  const tick = () =>
    void stack?.scaled().catch((e: unknown) => console.error(`scaler cron pass failed: ${String(e)}`));
  cron = setInterval(tick, env.CRON_INTERVAL_S * 1000);
  tick();

  console.log(`
router: ${routerUrl}
endpoint: ${demo.endpoint}
api_key: ${demo.apiKey}
admin_token: ${secrets.ADMIN_TOKEN}
vast_api: ${sim.apiUrl} (stand-in; instance logs in ${resolve(stateDir, "instances")})

The endpoint starts with no workers. Route a request and call the worker (the first answer waits for
a worker to boot, a few seconds here):

R=${routerUrl}; K=${demo.apiKey}; I=0
until A=$(curl -s $R/route/ -H 'content-type: application/json' -d '{"endpoint":"${demo.endpoint}","api_key":"'$K'","cost":64,"request_idx":'$I'}'); echo "$A" | grep -qE '"url"|"error'; do
  echo "$A"; I=$(echo "$A" | sed -E 's/.*"request_idx":([0-9]+).*/\\1/'); sleep 1; done
U=$(echo "$A" | sed -nE 's/.*"url":"([^"]+)".*/\\1/p')
if [ -n "$U" ]; then curl -s $U/v1/completions -H 'content-type: application/json' -d '{"auth_data":'"$A"',"payload":{"model":"demo","prompt":"Hello","max_tokens":32}}'; else echo "$A"; fi

Or: npm run demo (a burst with a live status line), python3 demo/client.py "your prompt".
Ctrl-C stops everything.`);
} catch (e) {
  console.error(`npm start failed: ${e instanceof Error ? e.message : String(e)}`);
  await stop(1);
}
