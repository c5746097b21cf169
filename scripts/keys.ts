// npm run -s keys -- <command>: production secrets, printed on stdout to pipe into `wrangler secret put`
// (README, Deploy). Nothing is written to disk and nothing else is printed on stdout.
//   admin-token            a fresh admin token
//   token-keys             a fresh TOKEN_KEYS set (one Ed25519 key)
//   vast-signing-key       a fresh VAST_SIGNING_KEY (RSA, for Vast-compatible signatures)
//   rotate < current.json  TOKEN_KEYS with a new signing key first, the current ones kept
//   retire < current.json  TOKEN_KEYS with only its signing key
import { readFileSync } from "node:fs";
import { z } from "zod";
import { nextKid, retireTokenKeys, rotateTokenKeys } from "../core/key-rotation.ts";
import { mintSecret } from "../core/secret.ts";
import { generateTokenKey, parseTokenKeys, type TokenKeySet } from "../core/token.ts";
import { generateVastKey } from "../core/vast-signature.ts";

const Command = z.enum(["admin-token", "token-keys", "vast-signing-key", "rotate", "retire"]);

/** The current TOKEN_KEYS, piped in on stdin. */
function currentSet(): TokenKeySet {
  return parseTokenKeys(readFileSync(0, "utf8"));
}

async function main(): Promise<void> {
  const command = Command.safeParse(process.argv[2]);
  if (!command.success) {
    process.stderr.write(`usage: npm run -s keys -- ${Command.options.join(" | ")}\n`);
    process.exit(2);
  }
  const now = new Date();
  const out = {
    "admin-token": async () => mintSecret("adm_"),
    "token-keys": async () => JSON.stringify({ keys: [await generateTokenKey(nextKid(now, []))] }),
    "vast-signing-key": async () => JSON.stringify(await generateVastKey()),
    rotate: async () => JSON.stringify(await rotateTokenKeys(currentSet(), now)),
    retire: async () => JSON.stringify(retireTokenKeys(currentSet())),
  }[command.data];
  process.stdout.write(`${await out()}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`keys: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
