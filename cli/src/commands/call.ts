// `gpuctl call`: route one request through the platform as Vast's clients do (route, re-poll while no
// worker is ready, send to the worker, re-route on 429/5xx) and stream the answer as it arrives.
// With no API key given it mints a temporary one through the admin API and revokes it afterwards.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { KeyCreated, KeyRevoked } from "../../../core/admin-api.ts";
import { RouteError, VastClient, type ClientEvent } from "../../../demo/vast-client.ts";
import { numberFlag } from "../args.ts";
import { CliError, EXIT, usageError } from "../cli-error.ts";
import { endpointArg, maxPositionals, type Command, type Context } from "../command.ts";
import { printJson } from "../output.ts";

/** One frame of an OpenAI-style stream (completions or chat), read leniently: other shapes print raw. */
const StreamFrame = z.object({
  choices: z.array(z.object({ text: z.string().optional(), delta: z.object({ content: z.string().nullish() }).optional() })),
});

/** Turns a server-sent-event stream into the text it carries; anything else passes through. */
export class StreamText {
  private buffer = "";
  feed(chunk: string): string {
    this.buffer += chunk;
    let out = "";
    let end: number;
    while ((end = this.buffer.indexOf("\n\n")) >= 0) {
      const event = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      out += this.frame(event);
    }
    return out;
  }
  /** What is left when the stream ends (a body that was not SSE at all). */
  flush(): string {
    const rest = this.buffer.trim() ? this.frame(this.buffer) : "";
    this.buffer = "";
    return rest;
  }
  private frame(event: string): string {
    const data = event.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
    if (!data) return `${event}\n`;
    if (data === "[DONE]") return "";
    try {
      const frame = StreamFrame.parse(JSON.parse(data));
      return frame.choices.map((c) => c.text ?? c.delta?.content ?? "").join("");
    } catch {
      return `${data}\n`;
    }
  }
}

function payloadFrom(values: Record<string, unknown>): { payload: unknown; cost: number | undefined; prompt: boolean } {
  const { prompt, data } = values as { prompt?: string; data?: string };
  if (prompt !== undefined && data !== undefined) throw usageError("give --prompt or --data, not both");
  if (data !== undefined) {
    const text = data.startsWith("@") ? readFileSync(data.slice(1), "utf8") : data;
    try {
      return { payload: JSON.parse(text), cost: undefined, prompt: false };
    } catch {
      throw usageError(`--data is not JSON: ${text.slice(0, 80)}`, `quote it for the shell: --data '{"prompt": "hi", "max_tokens": 16}', or --data @body.json`);
    }
  }
  if (prompt === undefined) throw usageError("nothing to send", 'give --prompt "text" (an OpenAI-style completion) or --data <json>');
  const maxTokens = numberFlag(values as never, "max-tokens", z.number().int().min(1).max(100_000), 64);
  const model = values.model as string | undefined;
  return { payload: { ...(model ? { model } : {}), prompt, max_tokens: maxTokens, stream: true }, cost: maxTokens, prompt: true };
}

async function apiKeyFor(ctx: Context, endpoint: string, flag: string | undefined): Promise<{ key: string; revoke?: () => Promise<void> }> {
  const { client, connection } = ctx.connect();
  const given = flag ?? ctx.env.GPUCTL_API_KEY ?? (connection.stackApiKey?.endpoint === endpoint ? connection.stackApiKey.api_key : undefined);
  if (given) return { key: given };
  const path = `/endpoints/${encodeURIComponent(endpoint)}/keys`;
  const minted = await client.request("POST", path, KeyCreated);
  ctx.io.stderr(`using a temporary API key (${minted.id}), revoked after the call; pass --api-key to use your own\n`);
  return { key: minted.api_key, revoke: async () => void (await client.request("DELETE", `${path}/${minted.id}`, KeyRevoked)) };
}

export const callCommands: Command[] = [
  {
    name: "call",
    args: "[endpoint]",
    summary: "Route one request and stream the worker's answer",
    options: {
      prompt: { type: "string", short: "p" },
      data: { type: "string", short: "d" },
      path: { type: "string" },
      "max-tokens": { type: "string" },
      model: { type: "string" },
      cost: { type: "string" },
      "api-key": { type: "string" },
      timeout: { type: "string" },
    },
    details: `  --prompt TEXT, -p   send an OpenAI-style streamed completion and print its text
  --data JSON, -d     send this body instead (or @file); the answer prints as it comes
  --path PATH         the worker's route (default /v1/completions)
  --max-tokens N      with --prompt (default 64)
  --model NAME        with --prompt
  --cost N            workload units the router counts (default: max tokens, else 100)
  --api-key KEY       the endpoint's key (else GPUCTL_API_KEY, the local stack's, or a temporary one)
  --timeout S         give up after S seconds (default 300): exit code 7

Example: gpuctl call demo --prompt "Say something about GPUs" --max-tokens 32`,
    async run(ctx, parsed) {
      maxPositionals(parsed, 1, "call");
      const { payload, cost, prompt } = payloadFrom(parsed.values);
      const route = z.string().regex(/^\/[\w./-]*$/, "a path such as /v1/completions").safeParse(parsed.values.path ?? "/v1/completions");
      if (!route.success) throw usageError(`--path: ${route.error.issues[0]?.message}`);
      const requestCost = numberFlag(parsed.values, "cost", z.number().min(0).max(1e12), cost ?? 100);
      const timeoutS = numberFlag(parsed.values, "timeout", z.number().positive().max(86_400), 300);
      const { connection } = ctx.connect();
      const endpoint = endpointArg(parsed, connection, "call");
      const { key, revoke } = await apiKeyFor(ctx, endpoint, parsed.values["api-key"] as string | undefined);
      const json = Boolean(parsed.values.json);
      let lastStatus = "";
      const onEvent = (e: ClientEvent) => {
        if (e.kind === "waiting" && e.status !== lastStatus) ctx.io.stderr(`waiting for a worker: ${(lastStatus = e.status)}\n`);
        if (e.kind === "routed") ctx.io.stderr(`routed to ${e.url} (request ${e.request_idx})\n`);
        if (e.kind === "retry") ctx.io.stderr(`re-routing: the worker answered ${e.status ?? "nothing"}\n`);
      };
      const client = new VastClient({ router: connection.url, endpoint, apiKey: key, timeoutS, maxPollInterval: 2, onEvent });
      const text = new StreamText();
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutS * 1000)]);
      try {
        const result = await client.call(route.data, payload, {
          cost: requestCost,
          signal,
          onChunk: json ? undefined : (chunk) => ctx.io.stdout(prompt ? text.feed(chunk) : chunk),
        });
        if (!json && prompt) ctx.io.stdout(`${text.flush()}\n`);
        if (json) printJson(ctx.io, { endpoint, ...result });
        if (result.status >= 400) {
          throw new CliError(EXIT.failed, `the worker answered ${result.status}${json ? "" : `: ${result.text.slice(0, 300)}`}`, "check the request body against the model server's API");
        }
      } catch (e) {
        if (e instanceof CliError) throw e;
        if (e instanceof RouteError) {
          const code = e.status === 401 ? EXIT.auth : e.status === 404 ? EXIT.notFound : e.status === 400 ? EXIT.usage : EXIT.failed;
          throw new CliError(code, e.message, e.status === 401 ? "the API key was refused: mint one with `gpuctl keys create`" : undefined);
        }
        if (ctx.signal.aborted) throw new CliError(EXIT.interrupted, "stopped before the answer was complete");
        if (signal.aborted || /no worker became ready/.test(String(e))) {
          throw new CliError(EXIT.timeout, `no answer within ${timeoutS}s (${lastStatus || "no worker"})`, `see \`gpuctl workers list ${endpoint}\` and \`gpuctl events ${endpoint}\``);
        }
        throw new CliError(EXIT.unreachable, `the call failed: ${e instanceof Error ? e.message : String(e)}`, "is the router reachable from here, and the worker's URL?");
      } finally {
        await revoke?.().catch((e: unknown) => ctx.io.stderr(`warning: could not revoke the temporary key: ${String(e)}\n`));
      }
    },
  },
];
