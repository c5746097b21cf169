// The request path end to end: client → agent → simulated model server, with tokens signed by the
// router's own code. Every refusal must leave the model server untouched (the attacks on tokens have
// their own catalogue: token-attacks.test.ts).
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

  it.each([
    ["/v1/chat/completions", { messages: [{ role: "user", content: "hi" }], max_tokens: 3 }, (b: any) => b.choices[0].message.content, "user: hi"],
    ["/generate", { inputs: "tgi prompt", parameters: { max_new_tokens: 5 } }, (b: any) => b.generated_text, "tgi prompt"],
    ["/api/generate", { prompt: "ollama", stream: false, options: { num_predict: 4 } }, (b: any) => b.response, "ollama"],
  ])("forwards %s to the same route on the model server", async (path, payload, text, prompt) => {
    const res = await s.call(path, payload);
    expect(res.status).toBe(200);
    const n = (payload as any).max_tokens ?? (payload as any).parameters?.max_new_tokens ?? (payload as any).options?.num_predict;
    expect(text(await res.json())).toBe(completionText(prompt, n));
  });

  it("passes a model-side 4xx through with its body", async () => {
    const res = await s.call("/v1/completions", { prompt: "x", max_tokens: -1 });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { object: string }).object).toBe("error");
  });
});

describe("malformed calls get a 4xx naming the problem, and change nothing", () => {
  it.each([
    ["no auth_data", async () => ({ payload: {} }), "auth_data is required"],
    ["no payload", async () => ({ auth_data: await s.router.authData({ url: s.agent.url }) }), "payload"],
    ["no token", async () => ({ auth_data: { ...(await s.router.authData({ url: s.agent.url })), token: undefined }, payload: {} }), "auth_data.token is required"],
    ["no reqnum", async () => ({ auth_data: { ...(await s.router.authData({ url: s.agent.url })), reqnum: undefined }, payload: {} }), "auth_data.reqnum is required"],
    ["a negative cost", async () => ({ auth_data: { ...(await s.router.authData({ url: s.agent.url })), cost: -1 }, payload: {} }), "auth_data.cost"],
  ])("422 for %s", async (_name, makeBody, names) => {
    const before = { sim: s.simStats().received, health: await s.health() };
    const res = await s.post("/v1/completions", await makeBody());
    expect(res.status).toBe(422);
    expect(((await res.json()) as { message: string }).message).toContain(names);
    expect(s.simStats().received).toBe(before.sim);
    expect((await s.health()).in_flight_load).toBe(0);
  });

  it("400 for a body that is not JSON, 404 for GET on a model route", async () => {
    const before = s.simStats().received;
    expect((await s.post("/v1/completions", "{not json")).status).toBe(400);
    expect((await fetch(`${s.agent.localUrl}/v1/completions`)).status).toBe(404);
    expect(s.simStats().received).toBe(before);
  });

  it("400 for a body that is not UTF-8, even with a valid token, rather than forwarding it altered", async () => {
    const before = s.simStats().received;
    const head = `{"auth_data":${JSON.stringify(await s.router.authData({ url: s.agent.url }))},"payload":{"prompt":"`;
    const body = Buffer.concat([Buffer.from(head), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('","max_tokens":2}}')]);
    const res = await fetch(`${s.agent.localUrl}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: "invalid_json", message: "the body is not JSON in UTF-8" });
    expect(s.simStats().received).toBe(before);
  });

  it("400 for a payload nested too deeply to forward, with a valid token, and its load is not left counted", async () => {
    // JSON.parse takes this; JSON.stringify overflows its stack on it. This was a 500 that leaked the request's load.
    const depth = 200_000;
    const auth_data = await s.router.authData({ url: s.agent.url, cost: 16 });
    const before = s.simStats().received;
    const res = await s.post("/v1/completions", `{"auth_data":${JSON.stringify(auth_data)},"payload":${"[".repeat(depth)}${"]".repeat(depth)}}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: "invalid_payload", message: "the payload nests too deeply to forward" });
    expect(s.simStats().received).toBe(before);
    expect(await s.health()).toMatchObject({ state: "ready", in_flight_load: 0, in_flight_requests: 0 });
  });
});
