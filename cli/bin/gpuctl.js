#!/usr/bin/env node
// The `gpuctl` command (package.json "bin"): runs the TypeScript sources through tsx, as the rest of
// the repository's Node code runs (Node 20 cannot strip types by itself).
import { register } from "tsx/esm/api";

register();
const { run } = await import("../src/main.ts");
process.exitCode = await run();
