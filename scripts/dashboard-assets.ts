// The router's custom build (wrangler.toml [build]): bundles the dashboard (dashboard/src, TypeScript,
// with uPlot and the API's zod schemas) into dashboard/public/build/, beside uPlot's stylesheet, so the
// page loads everything from the router itself (no CDN at run time). Runs before every `wrangler deploy`
// (dry runs too, which is how the local stack bundles) and `wrangler dev`. Writes a file only when its
// content changed, and by rename, so builds running in parallel never serve half a file.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";

const ROOT = resolve(import.meta.dirname, "..");
const OUT = join(ROOT, "dashboard/public/build");

function writeIfChanged(path: string, content: Uint8Array): void {
  let current: Buffer | null = null;
  try {
    current = readFileSync(path);
  } catch {
    // not built yet
  }
  if (current?.equals(content)) return;
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

mkdirSync(OUT, { recursive: true });
const bundle = await build({
  entryPoints: [join(ROOT, "dashboard/src/app.ts")],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  legalComments: "linked",
  write: false,
  outfile: join(OUT, "app.js"),
  logLevel: "warning",
});
for (const file of bundle.outputFiles) writeIfChanged(file.path, file.contents);
writeIfChanged(join(OUT, "uPlot.min.css"), readFileSync(join(ROOT, "node_modules/uplot/dist/uPlot.min.css")));
