import { describe, expect, it } from "vitest";
import { StreamText } from "../src/commands/call.ts";

describe("streamed answers", () => {
  it("prints the text of OpenAI-style completion and chat frames, however the bytes are split", () => {
    const body =
      'data: {"choices":[{"text":"Hel"}]}\n\ndata: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n\n' +
      'data: {"choices":[{"delta":{"content":"lo"}}]}\n\ndata: [DONE]\n\n';
    for (const size of [1, 3, 7, body.length]) {
      const s = new StreamText();
      let out = "";
      for (let i = 0; i < body.length; i += size) out += s.feed(body.slice(i, i + size));
      expect(out + s.flush()).toBe("Hello");
    }
  });

  it("passes through what is not an OpenAI frame, and a body that is not SSE at all", () => {
    const s = new StreamText();
    expect(s.feed('data: {"token":"x"}\n\n')).toBe('{"token":"x"}\n');
    expect(s.feed('{"choices":[]}')).toBe("");
    expect(s.flush()).toBe('{"choices":[]}\n');
  });
});
