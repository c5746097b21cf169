import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { nextKid, retireTokenKeys, rotateTokenKeys } from "../key-rotation.ts";
import { generateTokenKey, keyLookup, loadTokenSigner, TokenKeySet, verifyToken, type RequestGrant } from "../token.ts";

const NOW = new Date("2026-11-29T08:30:00Z");
const NOW_S = NOW.getTime() / 1000;
const grant: RequestGrant = { endpoint: "e", reqnum: 1, request_idx: 1, cost: 10, url: "http://w:3000" };
const expect_ = { audience: "http://w:3000", endpoint: "e", nowS: NOW_S, skewS: 5 };

describe("token key rotation", () => {
  it("names keys by time, never twice", () => {
    expect(nextKid(NOW, [])).toBe("k-20261129-083000");
    expect(nextKid(NOW, ["k-20261129-083000", "k-20261129-083000-2"])).toBe("k-20261129-083000-3");
  });

  it("signs with the new key at once while tokens of the old one still verify; retiring drops the old", async () => {
    const old = TokenKeySet.parse({ keys: [await generateTokenKey("old")] });
    const oldToken = await (await loadTokenSigner(JSON.stringify(old))).sign(grant, 60, NOW_S);

    const rotated = await rotateTokenKeys(old, NOW);
    expect(rotated.keys.map((k) => k.kid)).toEqual(["k-20261129-083000", "old"]);
    const signer = await loadTokenSigner(JSON.stringify(rotated));
    expect(signer.kid).toBe("k-20261129-083000");
    const newToken = await signer.sign(grant, 60, NOW_S);
    // An agent holding the rotated JWKS accepts both: no request fails during the rotation.
    const both = keyLookup(signer.jwks);
    await expect(verifyToken(oldToken, both, expect_)).resolves.toMatchObject({ reqnum: 1 });
    await expect(verifyToken(newToken, both, expect_)).resolves.toMatchObject({ reqnum: 1 });

    const retired = retireTokenKeys(rotated);
    const afterRetire = keyLookup((await loadTokenSigner(JSON.stringify(retired))).jwks);
    await expect(verifyToken(newToken, afterRetire, expect_)).resolves.toMatchObject({ reqnum: 1 });
    await expect(verifyToken(oldToken, afterRetire, expect_)).rejects.toThrow();
  });

  it("`npm run keys` prints secrets the router loads, and refuses stdin that is not a key set", async () => {
    const run = promisify(execFile);
    const script = resolve(import.meta.dirname, "../../scripts/keys.ts");
    const tsx = ["--import", "tsx", script];
    const fresh = (await run(process.execPath, [...tsx, "token-keys"])).stdout;
    await expect(loadTokenSigner(fresh)).resolves.toMatchObject({ jwks: { keys: [expect.anything()] } });
    const rotate = run(process.execPath, [...tsx, "rotate"]);
    rotate.child.stdin!.end(fresh);
    const rotated = TokenKeySet.parse(JSON.parse((await rotate).stdout));
    expect(rotated.keys).toHaveLength(2);
    const bad = run(process.execPath, [...tsx, "retire"]);
    bad.child.stdin!.end('{"keys": []}');
    await expect(bad).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/TOKEN_KEYS is not a valid key set/) });
  }, 60_000);
});
