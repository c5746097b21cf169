// `npm run build:agent`: the gpu-agent as one self-contained ES module (dist/gpu-agent.mjs) that a GPU
// box runs with plain `node` (20+): no npm install, no TypeScript runtime on the instance.
import { build } from "esbuild";
import { resolve } from "node:path";
import { ROOT } from "./local-workers.ts";

export const AGENT_BUNDLE = resolve(ROOT, "dist/gpu-agent.mjs");

export async function buildAgent(outfile = AGENT_BUNDLE): Promise<string> {
  await build({
    entryPoints: [resolve(ROOT, "gpu-agent/src/index.ts")],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    // Some dependencies still call require(); give the ESM bundle one.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    legalComments: "none",
    logLevel: "warning",
  });
  return outfile;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`built ${await buildAgent()}`);
}
