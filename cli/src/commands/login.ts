// `gpuctl login|logout`: remember a router and its admin token in the config file (mode 0600), after
// checking that the token works, so later commands need no flags.
import { EndpointList } from "../../../core/admin-api.ts";
import { adminClient } from "../admin-client.ts";
import { usageError } from "../cli-error.ts";
import { maxPositionals, type Command } from "../command.ts";
import { printJson } from "../output.ts";
import { ConfigFile, configPath, removeConfigFile, writeConfigFile } from "../settings.ts";

export const loginCommands: Command[] = [
  {
    name: "login",
    args: "",
    summary: "Check a router URL and admin token, and save them for later commands",
    options: { endpoint: { type: "string", short: "e" } },
    details: `  --url URL         the router (required)
  --token TOKEN     its admin token (required; or GPUCTL_TOKEN)
  --endpoint NAME   the endpoint commands use when none is named

Writes ${"$"}XDG_CONFIG_HOME/gpuctl/config.json (or ~/.config/gpuctl/config.json; --config or GPUCTL_CONFIG to choose).`,
    async run(ctx, parsed) {
      maxPositionals(parsed, 0, "login");
      const token = (parsed.values.token as string | undefined) ?? ctx.env.GPUCTL_TOKEN;
      const candidate = ConfigFile.safeParse({ url: parsed.values.url, token, endpoint: parsed.values.endpoint });
      if (!candidate.success) {
        const issue = candidate.error.issues[0]!;
        throw usageError(`--${String(issue.path[0] ?? "url")}: ${issue.message}`, "e.g. `gpuctl login --url http://127.0.0.1:8787 --token <admin token>`");
      }
      const config = candidate.data;
      // Fails with the router's own answer (401: wrong token, unreachable: wrong URL) before anything is written.
      const { endpoints } = await adminClient(config.url, config.token).request("GET", "/endpoints", EndpointList);
      if (config.endpoint && !endpoints.some((e) => e.name === config.endpoint)) {
        throw usageError(`no endpoint named '${config.endpoint}' on ${config.url}`, `existing: ${endpoints.map((e) => e.name).join(", ") || "none"}`);
      }
      const path = configPath(ctx.env, parsed.values.config as string | undefined);
      writeConfigFile(path, config);
      if (parsed.values.json) return printJson(ctx.io, { url: config.url, endpoint: config.endpoint ?? null, config: path, endpoints: endpoints.length });
      ctx.io.stdout(`logged in to ${config.url} (${endpoints.length} endpoint${endpoints.length === 1 ? "" : "s"}); saved to ${path}\n`);
    },
  },
  {
    name: "logout",
    args: "",
    summary: "Forget the saved router and token",
    async run(ctx, parsed) {
      maxPositionals(parsed, 0, "logout");
      const path = configPath(ctx.env, parsed.values.config as string | undefined);
      const removed = removeConfigFile(path);
      ctx.io.stdout(removed ? `removed ${path}\n` : `nothing saved at ${path}\n`);
    },
  },
];
