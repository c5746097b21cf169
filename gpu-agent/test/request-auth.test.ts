// Each token check on its own, with an explicit clock, against the router stand-in's real JWKS:
// the end-to-end file shows every refusal is a 401 the model never sees; this one shows which check
// refused it (the reason goes to the log detail, never to the client).
import { base64url } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../core/app-error.ts";
import { generateTokenKey, loadTokenSigner } from "../../core/token.ts";
import { ReplayGuard } from "../src/replay-guard.ts";
import { RequestAuth } from "../src/request-auth.ts";
import { TokenKeys } from "../src/token-keys.ts";
import { VastPubkey } from "../src/vast-compat.ts";
import { startRouterStandIn, type StandInRouter } from "./router-stand-in.ts";

const URL_ = "http://10.0.0.7:3000";
const T0 = 1_800_000_000;
let router: StandInRouter;
let keys: TokenKeys;

beforeAll(async () => {
  router = await startRouterStandIn({ workerId: "w", mtoken: "m", endpoint: "llama" });
  keys = new TokenKeys(router.url);
  await keys.fetch();
});
afterAll(() => router.close());

function authAt(nowS: number, vast: VastPubkey | null = null, guard = new ReplayGuard(1000, T0)) {
  return new RequestAuth(keys, guard, { audience: () => URL_, endpoint: "llama", skewS: 5, nowS: () => nowS }, vast);
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).status).toBe(401);
    return String((e as AppError).detail);
  }
  throw new Error("was accepted");
}

const call = (auth_data: Record<string, unknown>) => ({ auth_data: auth_data as never, payload: {} });
const enc = (o: unknown) => base64url.encode(JSON.stringify(o));

describe("request auth", () => {
  it("grants what the signed claims say", async () => {
    const a = await router.authData({ url: URL_, nowS: T0, cost: 40, request_idx: 9 });
    const grant = await authAt(T0 + 1).authorize(call(a));
    expect(grant).toEqual({ reqnum: a.reqnum, requestIdx: 9, cost: 40, via: "token" });
  });

  it.each([
    ["cost", { cost: 1 }],
    ["request_idx", { request_idx: 1 }],
    ["url", { url: "http://10.0.0.8:3000" }],
  ])("refuses a plain %s in auth_data that differs from the signed one, without spending the reqnum", async (field, over) => {
    const guard = new ReplayGuard(1000, T0);
    const a = await router.authData({ url: URL_, nowS: T0, cost: 40, request_idx: 9 });
    expect(await refusal(authAt(T0 + 1, null, guard).authorize(call({ ...a, ...over })))).toMatch(new RegExp(`auth_data.${field} differs`));
    expect((await authAt(T0 + 1, null, guard).authorize(call(a))).reqnum).toBe(a.reqnum);
  });

  it.each([
    ["expired (beyond the skew)", async () => router.issue({ url: URL_, nowS: T0, lifetimeS: 60 }), T0 + 66, /"exp" claim/],
    ["issued in the future (beyond the skew)", async () => router.issue({ url: URL_, nowS: T0 + 100 }), T0 + 1, /"iat" claim|"nbf"|future/],
    ["for another worker", async () => router.issue({ url: "http://10.0.0.8:3000", nowS: T0 }), T0, /"aud" claim/],
    ["for another endpoint", async () => router.issue({ url: URL_, endpoint: "other", nowS: T0 }), T0, /another endpoint/],
    ["issued before the agent started", async () => router.issue({ url: URL_, nowS: T0 - 30 }), T0, /before_start/],
    [
      "signed by an unknown key",
      async () => (await loadTokenSigner(JSON.stringify({ keys: [await generateTokenKey("k9")] }))).sign({ url: URL_, endpoint: "llama", reqnum: 1, request_idx: 1, cost: 1 }, 60, T0),
      T0,
      /no applicable key/i,
    ],
    [
      "signed with alg none",
      async () => `${enc({ alg: "none", kid: "k1" })}.${enc({ aud: URL_, endpoint: "llama", reqnum: 2, request_idx: 1, cost: 1, iat: T0, exp: T0 + 60 })}.`,
      T0,
      /alg/i,
    ],
    [
      "with a tampered signature",
      async () => {
        const t = await router.issue({ url: URL_, nowS: T0 });
        const [h, p, sig] = t.split(".") as [string, string, string];
        return `${h}.${p}.${sig.slice(0, 10)}${sig[10] === "A" ? "B" : "A"}${sig.slice(11)}`;
      },
      T0,
      /signature verification failed/,
    ],
  ])("refuses a token %s", async (_name, token, nowS, reason) => {
    const a = await router.authData({ url: URL_, nowS: T0 });
    const t = await token();
    // The plain copies agree with the token's claims, so the check under test is the one that refuses.
    const { reqnum, request_idx, cost } = JSON.parse(new TextDecoder().decode(base64url.decode(t.split(".")[1]!))) as Record<string, number>;
    expect(await refusal(authAt(nowS).authorize(call({ ...a, reqnum, request_idx, cost, token: t })))).toMatch(reason);
  });

  it("accepts a token within the clock skew on both ends", async () => {
    await authAt(T0 + 63).authorize(call(await router.authData({ url: URL_, nowS: T0, lifetimeS: 60 })));
    await authAt(T0 - 3).authorize(call(await router.authData({ url: URL_, nowS: T0 })));
  });

  it("refuses a reqnum it has already accepted, until the guard forgets it with the token's expiry", async () => {
    const guard = new ReplayGuard(1000, T0);
    const a = await router.authData({ url: URL_, nowS: T0 });
    await authAt(T0, null, guard).authorize(call(a));
    expect(await refusal(authAt(T0 + 1, null, guard).authorize(call(a)))).toMatch(/replayed/);
  });

  it("picks up a rotated key: an unknown kid refetches the JWKS once", async () => {
    const fresh = await generateTokenKey("k2");
    await router.setKeys([fresh]);
    const own = new TokenKeys(router.url, 0);
    await router.setKeys([await generateTokenKey("k1")]);
    await own.fetch();
    await router.setKeys([fresh]);
    const a = await router.authData({ url: URL_, nowS: T0 });
    const auth = new RequestAuth(own, new ReplayGuard(10, T0), { audience: () => URL_, endpoint: "llama", skewS: 5, nowS: () => T0 }, null);
    expect((await auth.authorize(call(a))).reqnum).toBe(a.reqnum);
  });

  it("in Vast compatibility mode, takes Vast's signature for this URL only, still once per reqnum", async () => {
    const vast = new VastPubkey(router.url);
    await vast.fetch();
    const a = await router.authData({ url: URL_, nowS: T0 });
    const { token: _t, ...signed } = a;
    const auth = authAt(T0, vast);
    expect((await auth.authorize(call(signed))).via).toBe("signature");
    expect(await refusal(auth.authorize(call(signed)))).toMatch(/replayed/);
    const other = { ...(await router.authData({ url: "http://10.0.0.8:3000" })), token: undefined };
    expect(await refusal(auth.authorize(call({ ...other, url: URL_ })))).toMatch(/bad Vast signature/);
    // Without the mode, a signature alone is a 422 (the token is missing), not a way in.
    expect(() => authAt(T0).parseCall(call(signed))).toThrow(/auth_data.token is required/);
  });
});
