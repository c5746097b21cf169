// The request and answer shapes the simulated server speaks: OpenAI completions and chat (as vLLM
// serves them), TGI's generate / generate_stream, and Ollama's NDJSON /api/generate. Each dialect
// parses its request with zod into one Job and formats whole answers and stream frames.
import { z } from "zod";
import { promptTokens, tokenText } from "./text.ts";

/** Per-request fault injection, for tests: an HTTP status to fail with, a hang, or a stream that stalls. */
export const SimDirective = z.object({
  fail: z.number().int().min(400).max(599).optional(),
  hang: z.boolean().optional(),
  stall_after: z.number().int().min(0).optional(),
});
export type SimDirective = z.infer<typeof SimDirective>;

const MaxTokens = z.number().int().min(1).max(32_768);

export interface Job {
  prompt: string;
  maxTokens: number;
  stream: boolean;
  directive: SimDirective;
}

export interface AnswerMeta {
  id: string;
  created: number;
  model: string;
}

export interface Dialect {
  /** Prefix of answer ids. */
  readonly idPrefix: string;
  readonly schema: z.ZodType<Job>;
  /** Status for a request that fails validation (vLLM: 400, TGI: 422). */
  readonly invalidStatus: number;
  errorBody(status: number, message: string): unknown;
  whole(job: Job, ids: number[], meta: AnswerMeta): unknown;
  /** One server-sent event for token `index` (the last one carries the finish reason). */
  frame(job: Job, index: number, id: number, ids: number[], meta: AnswerMeta): string;
  /** What ends a stream after the last frame. */
  readonly end: string;
  /** Content type of a streamed answer. */
  readonly streamType: string;
}

const sse = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;

function usage(job: Job, completion: number) {
  const prompt = promptTokens(job.prompt);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function openAiError(status: number, message: string) {
  return { object: "error", message, type: status >= 500 ? "InternalServerError" : "BadRequestError", code: status };
}

export const completions: Dialect = {
  idPrefix: "cmpl-",
  schema: z
    .object({
      model: z.string().optional(),
      prompt: z.union([z.string(), z.array(z.string()).min(1)]),
      max_tokens: MaxTokens.default(16),
      stream: z.boolean().default(false),
      sim: SimDirective.default({}),
    })
    .transform((r) => ({
      prompt: Array.isArray(r.prompt) ? r.prompt.join("\n") : r.prompt,
      maxTokens: r.max_tokens,
      stream: r.stream,
      directive: r.sim,
    })),
  invalidStatus: 400,
  errorBody: openAiError,
  whole: (job, ids, meta) => ({
    id: meta.id,
    object: "text_completion",
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, text: ids.map(tokenText).join(""), logprobs: null, finish_reason: "length" }],
    usage: usage(job, ids.length),
  }),
  frame: (_job, index, id, ids, meta) =>
    sse({
      id: meta.id,
      object: "text_completion",
      created: meta.created,
      model: meta.model,
      choices: [{ index: 0, text: tokenText(id), logprobs: null, finish_reason: index === ids.length - 1 ? "length" : null }],
    }),
  end: "data: [DONE]\n\n",
  streamType: "text/event-stream",
};

const ChatContent = z.union([z.string(), z.null(), z.array(z.object({ type: z.string(), text: z.string().optional() }))]);

export const chat: Dialect = {
  idPrefix: "chatcmpl-",
  schema: z
    .object({
      model: z.string().optional(),
      messages: z.array(z.object({ role: z.string(), content: ChatContent })).min(1),
      max_tokens: MaxTokens.optional(),
      max_completion_tokens: MaxTokens.optional(),
      stream: z.boolean().default(false),
      sim: SimDirective.default({}),
    })
    .transform((r) => ({
      prompt: r.messages
        .map((m) => `${m.role}: ${typeof m.content === "string" ? m.content : (m.content ?? []).map((p) => p.text ?? "").join("")}`)
        .join("\n"),
      maxTokens: r.max_completion_tokens ?? r.max_tokens ?? 16,
      stream: r.stream,
      directive: r.sim,
    })),
  invalidStatus: 400,
  errorBody: openAiError,
  whole: (job, ids, meta) => ({
    id: meta.id,
    object: "chat.completion",
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, message: { role: "assistant", content: ids.map(tokenText).join("") }, logprobs: null, finish_reason: "length" }],
    usage: usage(job, ids.length),
  }),
  frame: (_job, index, id, ids, meta) => {
    const chunk = (delta: object, finish: string | null) =>
      sse({ id: meta.id, object: "chat.completion.chunk", created: meta.created, model: meta.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
    // The first frame announces the role, as OpenAI and vLLM do.
    const head = index === 0 ? chunk({ role: "assistant", content: "" }, null) : "";
    return head + chunk({ content: tokenText(id) }, index === ids.length - 1 ? "length" : null);
  },
  end: "data: [DONE]\n\n",
  streamType: "text/event-stream",
};

const TgiRequest = z.object({
  inputs: z.string(),
  parameters: z.object({ max_new_tokens: MaxTokens.default(20) }).default({ max_new_tokens: 20 }),
  sim: SimDirective.default({}),
});

function tgi(stream: boolean): Dialect {
  return {
    idPrefix: "tgi-",
    schema: TgiRequest.transform((r) => ({ prompt: r.inputs, maxTokens: r.parameters.max_new_tokens, stream, directive: r.sim })),
    invalidStatus: 422,
    errorBody: (status, message) => ({ error: message, error_type: status === 422 ? "validation" : "generation" }),
    whole: (_job, ids) => ({ generated_text: ids.map(tokenText).join("") }),
    // TGI writes `data:` without a space and puts the whole text and details on the last event.
    frame: (_job, index, id, ids) => {
      const last = index === ids.length - 1;
      return `data:${JSON.stringify({
        index,
        token: { id, text: tokenText(id), logprob: -0.5, special: false },
        generated_text: last ? ids.map(tokenText).join("") : null,
        details: last ? { finish_reason: "length", generated_tokens: ids.length, seed: null } : null,
      })}\n\n`;
    },
    end: "",
    streamType: "text/event-stream",
  };
}

export const tgiGenerate = tgi(false);
export const tgiGenerateStream = tgi(true);

/** Ollama's /api/generate: NDJSON, one JSON object per line, streaming unless `stream: false`. */
export const ollamaGenerate: Dialect = {
  idPrefix: "ollama-",
  schema: z
    .object({
      model: z.string().optional(),
      prompt: z.string(),
      stream: z.boolean().default(true),
      options: z.object({ num_predict: MaxTokens.default(128) }).default({ num_predict: 128 }),
      sim: SimDirective.default({}),
    })
    .transform((r) => ({ prompt: r.prompt, maxTokens: r.options.num_predict, stream: r.stream, directive: r.sim })),
  invalidStatus: 400,
  errorBody: (_status, message) => ({ error: message }),
  whole: (_job, ids, meta) => ({
    model: meta.model,
    created_at: new Date(meta.created * 1000).toISOString(),
    response: ids.map(tokenText).join(""),
    done: true,
    done_reason: "length",
    eval_count: ids.length,
  }),
  frame: (_job, index, id, ids, meta) => {
    const at = new Date(meta.created * 1000).toISOString();
    const line = `${JSON.stringify({ model: meta.model, created_at: at, response: tokenText(id), done: false })}\n`;
    const last = index === ids.length - 1;
    return last ? `${line}${JSON.stringify({ model: meta.model, created_at: at, response: "", done: true, done_reason: "length", eval_count: ids.length })}\n` : line;
  },
  end: "",
  streamType: "application/x-ndjson",
};

/** Model routes by path. */
export const DIALECTS: Record<string, Dialect> = {
  "/v1/completions": completions,
  "/v1/chat/completions": chat,
  "/generate": tgiGenerate,
  "/generate_stream": tgiGenerateStream,
  "/api/generate": ollamaGenerate,
};
