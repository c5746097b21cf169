// `npm run sim:vast -- --port N`: wiring only (settings → server → signals). On SIGTERM/SIGINT
// every child process is stopped before exit; an abrupt exit kills them (see processes.ts).
import { HELP, OptionsError, parseVastSimOptions } from "./options.ts";
import { startVastSim } from "./server.ts";

let options;
try {
  options = parseVastSimOptions(process.argv.slice(2), process.env);
} catch (e) {
  if (!(e instanceof OptionsError)) throw e;
  console.error(e.message);
  process.exit(2);
}
if (options === "help") {
  console.log(HELP);
  process.exit(0);
}

const sim = await startVastSim(options);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void sim.close().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// Printed once the signal handlers are in: a supervisor that signals as soon as it sees the line
// must find them installed (before, a SIGTERM in between killed the process with no exit code).
console.log(`listening on ${sim.url}`);
console.log(`api: ${sim.apiUrl} (Bearer key from --api-key)${sim.launcher ? `; child logs in ${sim.launcher.logDir}` : "; no processes"}`);
