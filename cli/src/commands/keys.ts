// `gpuctl keys create|revoke`: an endpoint's API keys. The plain key is shown once (only its hash is
// stored), so `create` prints it on stdout alone unless --json: `K=$(gpuctl keys create chat)` works.
import { KeyCreated, KeyRevoked } from "../../../core/admin-api.ts";
import { usageError } from "../cli-error.ts";
import { endpointArg, maxPositionals, type Command } from "../command.ts";
import { printJson } from "../output.ts";

export const keyCommands: Command[] = [
  {
    name: "keys create",
    args: "[endpoint]",
    summary: "Mint an API key for an endpoint (shown once)",
    async run(ctx, parsed) {
      maxPositionals(parsed, 1, "keys create");
      const { client, connection } = ctx.connect();
      const endpoint = endpointArg(parsed, connection, "keys create");
      const key = await client.request("POST", `/endpoints/${encodeURIComponent(endpoint)}/keys`, KeyCreated);
      if (parsed.values.json) return printJson(ctx.io, key);
      ctx.io.stderr(`key ${key.id} for ${endpoint} (shown once; revoke with \`gpuctl keys revoke ${endpoint} ${key.id}\`):\n`);
      ctx.io.stdout(`${key.api_key}\n`);
    },
  },
  {
    name: "keys revoke",
    args: "[endpoint] <key-id>",
    summary: "Revoke an API key: it stops working at once",
    async run(ctx, parsed) {
      maxPositionals(parsed, 2, "keys revoke");
      const { client, connection } = ctx.connect();
      const [first, second] = parsed.positionals;
      if (!first) throw usageError("which key?", "give its id, as `keys create` printed it: `gpuctl keys revoke <endpoint> <key-id>`");
      const endpoint = second ? first : endpointArg({ ...parsed, positionals: [] }, connection, "keys revoke");
      const id = second ?? first;
      const revoked = await client.request("DELETE", `/endpoints/${encodeURIComponent(endpoint)}/keys/${encodeURIComponent(id)}`, KeyRevoked);
      if (parsed.values.json) return printJson(ctx.io, revoked);
      ctx.io.stdout(`revoked key ${revoked.id} of ${endpoint}\n`);
    },
  },
];
