// The request path end to end: client → agent → simulated model server, with real tokens.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completionText } from "../../sim/model-server/text.ts";
import { startStack, type Stack } from "./harness.ts";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s.close();
});

describe("a valid token", () => {
  it("reaches the model and the model's answer comes back", async () => {
    const before = s.simStats().received;
    const res = await s.call("/v1/completions", { prompt: "hello agent", max_tokens: 6 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { text: string }[] };
    expect(body.choices[0]!.text).toBe(completionText("hello agent", 6));
    expect(s.simStats().received).toBe(before + 1);
  });
});
