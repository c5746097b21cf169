// `npm run demo`: a burst of OpenAI-style completions through the platform, as Vast's clients send them
// (route, re-poll while no worker is ready, call the worker, re-route on 429/5xx), some streamed.
// A live status line shows workers by state, requests done and latency; a summary ends the run.
import { percentile } from "../bench/load.ts";
import { readStackInfo, type StackInfo } from "./stack-info.ts";
import { VastClient } from "./vast-client.ts";

const REQUESTS = Number(process.env.DEMO_REQUESTS ?? 40);
const CONCURRENCY = Number(process.env.DEMO_CONCURRENCY ?? 8);
const MAX_TOKENS = Number(process.env.DEMO_MAX_TOKENS ?? 64);

let info: StackInfo;
try {
  info = readStackInfo();
} catch (e) {
  console.error(`demo: ${(e as Error).message}`);
  process.exit(2);
}

const latencies: number[] = [];
let done = 0;
let failed = 0;
let streamed = 0;
let retries = 0;
let workersLine = "workers: ?";
const started = performance.now();

async function refreshWorkers(): Promise<void> {
  try {
    const res = await fetch(new URL(`/api/v1/endpoints/${info.endpoint}/workers`, info.router), {
      headers: { authorization: `Bearer ${info.admin_token}` },
    });
    const { workers } = (await res.json()) as { workers: { phase: string }[] };
    const byPhase = new Map<string, number>();
    for (const w of workers) byPhase.set(w.phase, (byPhase.get(w.phase) ?? 0) + 1);
    workersLine = `workers: ${[...byPhase].map(([p, n]) => `${n} ${p}`).join(", ") || "none"}`;
  } catch {
    workersLine = "workers: (router unreachable)";
  }
}

function statusLine(): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  const p = (q: number) => (sorted.length ? `${(percentile(sorted, q) / 1000).toFixed(1)}s` : "–");
  const elapsed = ((performance.now() - started) / 1000).toFixed(0);
  return `[${elapsed}s] ${workersLine} | done ${done}/${REQUESTS}${failed ? ` (${failed} failed)` : ""} | p50 ${p(50)} p99 ${p(99)}`;
}

const tty = process.stdout.isTTY;
let lastPrinted = "";
function render(final = false): void {
  const line = statusLine();
  if (tty) process.stdout.write(`\r\x1b[2K${line}${final ? "\n" : ""}`);
  else if (final || line !== lastPrinted) console.log(line);
  lastPrinted = line;
}

const poll = setInterval(() => void refreshWorkers(), 1000);
const draw = setInterval(() => render(), tty ? 250 : 5000);
await refreshWorkers();
render();

let next = 0;
async function lane(): Promise<void> {
  while (next < REQUESTS) {
    const i = next++;
    const stream = i % 3 === 0;
    const payload = { model: "demo", prompt: `Request ${i}: say something about GPUs.`, max_tokens: MAX_TOKENS, stream };
    try {
      const result = await new VastClient({
        router: info.router,
        endpoint: info.endpoint,
        apiKey: info.api_key,
        maxPollInterval: 2,
        onEvent: (e) => {
          if (e.kind === "retry") retries++;
        },
      }).call("/v1/completions", payload, { cost: MAX_TOKENS });
      if (result.status === 200) {
        latencies.push(result.total_ms);
        if (stream) streamed++;
      } else failed++;
    } catch {
      failed++;
    }
    done++;
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, lane));
clearInterval(poll);
clearInterval(draw);
await refreshWorkers();
render(true);
const sorted = [...latencies].sort((a, b) => a - b);
console.log(
  `summary: ${latencies.length} ok (${streamed} streamed), ${failed} failed, ${retries} re-routes; ` +
    `latency p50 ${(percentile(sorted, 50) / 1000).toFixed(2)}s, p99 ${(percentile(sorted, 99) / 1000).toFixed(2)}s, ` +
    `wall ${((performance.now() - started) / 1000).toFixed(1)}s`,
);
process.exit(failed > 0 ? 1 : 0);
