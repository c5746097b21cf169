// `npm run agent`: wiring only. Environment → config → agent; SIGTERM/SIGINT drain, then exit 0.
import { log } from "../../core/log.ts";
import { startAgent } from "./agent.ts";
import { ConfigError, loadConfig } from "./config.ts";

let config;
try {
  config = loadConfig(process.env);
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  console.error(e.message);
  process.exit(2);
}

const agent = await startAgent(config);

let signalled = false;
const onSignal = (signal: NodeJS.Signals) => {
  if (signalled) return;
  signalled = true;
  log("info", "draining", { signal });
  agent.drain().then(
    () => process.exit(0),
    (e: unknown) => {
      log("error", "drain failed", { error: (e as Error).message });
      process.exit(1);
    },
  );
};
process.on("SIGTERM", onSignal);
process.on("SIGINT", onSignal);
// Printed once the signal handlers are in: a supervisor that signals as soon as it sees the line
// must find them installed (before, a SIGTERM in between killed the process with no exit code).
console.log(`listening on ${agent.localUrl}`);
log("info", "agent started", { url: agent.url, endpoint: config.endpoint, backend: config.backend, stack: config.httpStack });
