// Streams pass through chunk by chunk, and a client that leaves frees its load and cancels the
// model server's work. "In pieces" is shown without clocks: the model server stalls mid-stream, and
// the client still gets the first tokens, so the agent cannot have been waiting for the end.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completionText, tokenIds, tokenText } from "../../sim/model-server/text.ts";
import { eventually, startStack, type Stack } from "./harness.ts";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s.close();
});

/** Reads a body until `done(textSoFar)` holds; returns the text and the number of reads it took. */
async function readUntil(res: Response, done: (text: string) => boolean): Promise<{ text: string; reads: number }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let reads = 0;
  while (!done(text)) {
    const { value, done: end } = await reader.read();
    if (end) break;
    reads++;
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return { text, reads };
}

const events = (text: string) => text.split("\n\n").filter((e) => e.startsWith("data:"));

async function metricCount(outcome: string): Promise<number> {
  const text = await (await fetch(`${s.agent.localUrl}/metrics`)).text();
  return Number(text.match(new RegExp(`gpu_agent_requests_total\\{outcome="${outcome}"\\} (\\d+)`))?.[1]);
}

describe("streaming", () => {
  it("passes server-sent events through, complete and in order", async () => {
    const res = await s.call("/v1/completions", { prompt: "stream me", max_tokens: 5, stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const all = events(await res.text());
    expect(all.at(-1)).toBe("data: [DONE]");
    const text = all.slice(0, -1).map((e) => (JSON.parse(e.slice(6)) as { choices: { text: string }[] }).choices[0]!.text).join("");
    expect(text).toBe(completionText("stream me", 5));
  });

  it("passes NDJSON through line by line", async () => {
    const res = await s.call("/api/generate", { prompt: "nd", options: { num_predict: 3 } });
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    const lines = (await res.text()).trim().split("\n").map((l) => JSON.parse(l) as { response: string; done: boolean });
    expect(lines.map((l) => l.response).join("")).toBe(completionText("nd", 3));
    expect(lines.at(-1)!.done).toBe(true);
  });

  /** Token texts in a partial body, per wire format. */
  const sseData = (text: string) => text.split("\n\n").slice(0, -1).map((e) => e.replace(/^data: ?/, "")).filter((d) => d !== "[DONE]").map((d) => JSON.parse(d));
  const chatTokens = (text: string) => sseData(text).map((d) => d.choices[0].delta.content as string).filter(Boolean);
  const tgiTokens = (text: string) => sseData(text).map((d) => d.token.text as string);
  const ndjsonTokens = (text: string) => text.split("\n").slice(0, -1).map((l) => (JSON.parse(l) as { response: string }).response).filter(Boolean);

  it.each([
    ["SSE (OpenAI)", "/v1/chat/completions", { messages: [{ role: "user", content: "q" }], max_tokens: 10, stream: true, sim: { stall_after: 3 } }, "user: q", chatTokens],
    ["SSE (TGI)", "/generate_stream", { inputs: "q", parameters: { max_new_tokens: 10 }, sim: { stall_after: 3 } }, "q", tgiTokens],
    ["NDJSON", "/api/generate", { prompt: "q", options: { num_predict: 10 }, sim: { stall_after: 3 } }, "q", ndjsonTokens],
  ])("delivers %s tokens while the model is still generating; leaving frees the load", async (_kind, path, payload, prompt, tokensOf) => {
    const cancelledBefore = s.simStats().cancelled;
    const metricBefore = await metricCount("cancelled");
    const client = new AbortController();
    const res = await s.call(path, payload, {}, { signal: client.signal });
    expect(res.status).toBe(200);
    // Three tokens come, then the model stalls forever: they can only arrive if nothing buffers.
    const { text } = await readUntil(res, (t) => tokensOf(t).length >= 3);
    expect(tokensOf(text)).toEqual(tokenIds(prompt, 3).map(tokenText));
    expect(s.simStats().hung).toBe(1);
    expect((await s.health()).in_flight_requests).toBe(1);

    client.abort();
    const h = await eventually(async () => {
      const x = await s.health();
      return x.in_flight_requests === 0 && x;
    });
    expect(h.in_flight_load).toBe(0);
    await eventually(() => s.simStats().cancelled === cancelledBefore + 1);
    expect(s.simStats().hung).toBe(0);
    expect(await metricCount("cancelled")).toBe(metricBefore + 1);
  });

  it("a client that leaves before a non-streamed answer cancels the model's work too", async () => {
    const client = new AbortController();
    const pending = s.call("/v1/completions", { prompt: "slow", max_tokens: 3, sim: { hang: true } }, { cost: 77 }, { signal: client.signal });
    await eventually(async () => (await s.health()).in_flight_load === 77);
    client.abort();
    await expect(pending).rejects.toThrow();
    await eventually(async () => (await s.health()).in_flight_load === 0);
    await eventually(() => s.simStats().hung === 0);
  });
});
