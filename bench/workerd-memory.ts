// npm run bench:workerd-memory — the local runtime's own memory growth, as a baseline for the soak:
// a hello-world Worker (no Durable Object, no storage, no crypto) in Miniflare, the same workerd the
// local stack runs, and the workerd process's resident memory after each round of requests. The soak
// (npm run soak) sees workerd grow while the router's JavaScript heap stays flat; if a Worker that
// does nothing grows the same way per request, the growth is the runtime's, not the router's.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { Miniflare } from "miniflare";
import { printTable } from "./load.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 6);
const PER_ROUND = Number(process.env.PER_ROUND ?? 5000);
const CONCURRENCY = 50;

/** Resident MB of this process's workerd children. */
function workerdRssMb(): number {
  let pids: string[] = [];
  try {
    pids = execFileSync("pgrep", ["-P", String(process.pid), "workerd"]).toString().trim().split("\n").filter(Boolean);
  } catch {
    return 0; // pgrep exits 1 when nothing matches
  }
  return pids.reduce((sum, pid) => sum + Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024, 0);
}

const mf = new Miniflare({ modules: true, script: `export default { fetch() { return new Response("ok"); } }`, compatibilityDate: "2026-04-20" });
const url = await mf.ready;
const rows: { requests: number; workerd_rss_mb: number }[] = [{ requests: 0, workerd_rss_mb: Math.round(workerdRssMb() * 10) / 10 }];
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (let i = 0; i < PER_ROUND; i += CONCURRENCY) await Promise.all(Array.from({ length: CONCURRENCY }, () => fetch(url).then((r) => r.text())));
    rows.push({ requests: round * PER_ROUND, workerd_rss_mb: Math.round(workerdRssMb() * 10) / 10 });
  }
} finally {
  await mf.dispose();
}
printTable(rows);
const first = rows[1]!;
const last = rows.at(-1)!;
const kbPerRequest = ((last.workerd_rss_mb - first.workerd_rss_mb) * 1024) / (last.requests - first.requests);
console.log(`workerd grows ${kbPerRequest.toFixed(1)} KB per request of a hello-world Worker (after the first round)`);
mkdirSync(resolve(import.meta.dirname, "results"), { recursive: true });
writeFileSync(
  resolve(import.meta.dirname, "results/workerd-memory.json"),
  `${JSON.stringify({ worker: "hello world, Miniflare", rounds: rows, kb_per_request: Math.round(kbPerRequest * 10) / 10, measured_at: new Date().toISOString() }, null, 2)}\n`,
);
