// The request path end to end: client → agent → simulated model server, with tokens signed by the
// router's own code. Every refusal must leave the model server untouched.
import { base64url } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateTokenKey, loadTokenSigner } from "../../core/token.ts";
import { completionText } from "../../sim/model-server/text.ts";
import { ENDPOINT, startStack, type Stack } from "./harness.ts";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s.close();
});

const enc = (o: unknown) => base64url.encode(JSON.stringify(o));
const nowS = () => Math.floor(Date.now() / 1000);
let nextReqnum = 900_000;

/** A route answer whose token has been replaced by `token`. */
async function authWith(token: string) {
  return { ...(await s.router.authData({ url: s.agent.url })), token };
}

function claims(over: Record<string, unknown> = {}) {
  const iat = nowS();
  return { endpoint: ENDPOINT, reqnum: nextReqnum++, request_idx: 5, cost: 8, aud: s.agent.url, iat, exp: iat + 60, ...over };
}

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

describe("a bad token is refused with 401 and the model server sees nothing", () => {
  const cases: [string, () => Promise<Record<string, unknown>>][] = [
    [
      "tampered signature",
      async () => {
        const auth = await s.router.authData({ url: s.agent.url });
        const [h, p, sig] = auth.token.split(".") as [string, string, string];
        const i = Math.floor(sig.length / 2);
        return { ...auth, token: `${h}.${p}.${sig.slice(0, i)}${sig[i] === "A" ? "B" : "A"}${sig.slice(i + 1)}` };
      },
    ],
    [
      "tampered claims (cost lowered)",
      async () => {
        const auth = await s.router.authData({ url: s.agent.url, cost: 500 });
        const [h, p, sig] = auth.token.split(".") as [string, string, string];
        const body = JSON.parse(new TextDecoder().decode(base64url.decode(p))) as Record<string, unknown>;
        return { ...auth, token: `${h}.${enc({ ...body, cost: 1 })}.${sig}` };
      },
    ],
    [
      "unknown kid",
      async () => {
        const stranger = await loadTokenSigner(JSON.stringify({ keys: [await generateTokenKey("k9")] }));
        const token = await stranger.sign({ url: s.agent.url, endpoint: ENDPOINT, reqnum: nextReqnum++, request_idx: 1, cost: 1 }, 60, nowS());
        return authWith(token);
      },
    ],
    ["expired", async () => authWith(await s.router.issue({ url: s.agent.url, nowS: nowS() - 120, lifetimeS: 60 }))],
    ["for another worker (audience)", async () => authWith(await s.router.issue({ url: "http://127.0.0.1:1" }))],
    ["for another endpoint", async () => authWith(await s.router.issue({ url: s.agent.url, endpoint: "other-endpoint" }))],
    ["issued before this agent started", async () => authWith(await s.router.issue({ url: s.agent.url, nowS: nowS() - 40, lifetimeS: 60 }))],
    ["alg none", async () => authWith(`${enc({ alg: "none", kid: "k1", typ: "JWT" })}.${enc(claims())}.`)],
    [
      "HS256 keyed with the public JWK",
      async () => {
        const jwks = (await (await fetch(`${s.router.url}/.well-known/jwks.json`)).json()) as { keys: unknown[] };
        const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(JSON.stringify(jwks.keys[0])), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
        const input = `${enc({ alg: "HS256", kid: "k1", typ: "JWT" })}.${enc(claims())}`;
        const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input)));
        return authWith(`${input}.${base64url.encode(mac)}`);
      },
    ],
    ["not a JWT at all", async () => authWith("not-a-token")],
  ];

  it.each(cases)("%s", async (_name, makeAuth) => {
    const before = s.simStats().received;
    const res = await s.post("/v1/completions", { auth_data: await makeAuth(), payload: { prompt: "secret", max_tokens: 2 } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ code: "unauthorized", message: "Authentication failed" });
    expect(s.simStats().received).toBe(before);
  });

  it("a replayed reqnum (the same token twice)", async () => {
    const auth_data = await s.router.authData({ url: s.agent.url });
    const body = { auth_data, payload: { prompt: "once", max_tokens: 2 } };
    expect((await s.post("/v1/completions", body)).status).toBe(200);
    const before = s.simStats().received;
    expect((await s.post("/v1/completions", body)).status).toBe(401);
    // A new token reusing the reqnum is a replay too: the reqnum is what the router made unique.
    const again = await s.router.authData({ url: s.agent.url, reqnum: auth_data.reqnum });
    expect((await s.post("/v1/completions", { auth_data: again, payload: { prompt: "once", max_tokens: 2 } })).status).toBe(401);
    expect(s.simStats().received).toBe(before);
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
