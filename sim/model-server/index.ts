// `npm run sim:model -- --port N`: wiring only (settings → server → signals).
import { HELP, OptionsError, parseSimOptions } from "./options.ts";
import { startSimServer } from "./server.ts";

let options;
try {
  options = parseSimOptions(process.argv.slice(2), process.env);
} catch (e) {
  if (!(e instanceof OptionsError)) throw e;
  console.error(e.message);
  process.exit(2);
}
if (options === "help") {
  console.log(HELP);
  process.exit(0);
}

const server = await startSimServer(options, { print: (line) => console.log(line), onCrash: () => process.exit(1) });

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`INFO:     ${signal}: shutting down`);
  void server.close().then(() => process.exit(0));
};
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
// Printed once the signal handlers are in: a supervisor that signals as soon as it sees the line
// must find them installed (before, a SIGTERM in between killed the process with no exit code).
console.log(`listening on http://127.0.0.1:${server.port}`);
