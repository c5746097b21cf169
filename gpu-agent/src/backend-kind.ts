// What differs between model servers: the standard benchmark request, the health path, and the log
// lines that mean "loaded" or "broken" (the markers PyWorker watches for vLLM and TGI).
import type { AgentConfig, BackendKind } from "./config.ts";

export interface BenchRequest {
  path: string;
  body: string;
  /** Workload units of this request: its max tokens (PROTOCOL `cost` uses the same unit). */
  workload: number;
}

export interface KindDefaults {
  health: string;
  loadMsg: string;
  errorMsgs: string[];
}

export const KIND_DEFAULTS: Record<BackendKind, KindDefaults> = {
  openai: {
    health: "/health",
    loadMsg: "Application startup complete.",
    errorMsgs: ["INFO exited: vllm", "RuntimeError: Engine", "Traceback (most recent call last):"],
  },
  tgi: {
    health: "/health",
    loadMsg: '"message":"Connected"',
    errorMsgs: ["Error: ShardCannotStart", "Error: WebserverFailed", "Error: DownloadError", "Traceback (most recent call last):"],
  },
  generic: { health: "/health", loadMsg: "Application startup complete.", errorMsgs: ["Traceback (most recent call last):"] },
};

const WORDS = "tell me a long story about rivers mountains cities and the people who travel between them".split(" ");

/** A varied prompt per request, so prefix caches do not make the benchmark look faster than real traffic. */
function prompt(i: number): string {
  const words = Array.from({ length: 24 }, (_, k) => WORDS[(i * 7 + k * 3) % WORDS.length]);
  return `Request ${i}: ${words.join(" ")}.`;
}

/** The i-th benchmark request for this backend. */
export function benchRequest(config: AgentConfig, i: number, model: string | null): BenchRequest {
  const n = config.bench.maxTokens;
  switch (config.backend) {
    case "openai":
      // ignore_eos (vLLM) makes the model produce exactly max_tokens, so the workload is what we count.
      return {
        path: "/v1/completions",
        body: JSON.stringify({ ...(model ? { model } : {}), prompt: prompt(i), max_tokens: n, temperature: 0, ignore_eos: true }),
        workload: n,
      };
    case "tgi":
      return { path: "/generate", body: JSON.stringify({ inputs: prompt(i), parameters: { max_new_tokens: n } }), workload: n };
    case "generic":
      return { path: config.bench.path!, body: JSON.stringify(config.bench.payload), workload: config.bench.workload! };
  }
}
