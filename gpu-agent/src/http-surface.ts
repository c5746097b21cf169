// What both HTTP front ends (node:http and Hono) serve: the model call path, /health, /metrics, and
// one rendering of errors ({code, message}; unknown errors are a generic 500, detail in the log).
import { AppError } from "../../core/app-error.ts";
import { log } from "../../core/log.ts";
import type { ModelCalls } from "./model-call.ts";

export interface AgentSurface {
  readonly calls: ModelCalls;
  readonly maxBodyBytes: number;
  health(): { status: number; body: unknown };
  metrics(): string;
}

export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function errorAnswer(e: unknown): ErrorAnswer {
  if (e instanceof AppError) {
    // 4xx are the client's business and frequent (429s under load): not worth a log line each.
    if (e.status >= 500 && e.status !== 503) log("warn", "request failed", { code: e.code, detail: String(e.detail ?? "") });
    return {
      status: e.status,
      headers: { "content-type": "application/json", ...e.headers },
      body: JSON.stringify({ code: e.code, message: e.message }),
    };
  }
  log("error", "unexpected error", { error: (e as Error)?.stack ?? String(e) });
  return { status: 500, headers: { "content-type": "application/json" }, body: JSON.stringify({ code: "internal", message: "internal error" }) };
}

export const tooLarge = (limit: number) => new AppError(413, "payload_too_large", `the body exceeds ${limit} bytes`);
export const notFound = () => new AppError(404, "not_found", "model routes take POST; GET serves /health and /metrics");
