// `gpuctl groups list|create`: an endpoint's worker groups (what the scaler rents, and where).
// Flags come from the API's WorkerGroupCreate schema.
import { WorkerGroupList } from "../../../core/admin-api.ts";
import { WorkerGroup, WorkerGroupCreate } from "../../../core/endpoint.ts";
import { fieldHelp, fieldOptions, fieldValues, validate } from "../args.ts";
import { endpointArg, maxPositionals, type Command } from "../command.ts";
import { printJson, table } from "../output.ts";

const shape = WorkerGroupCreate.shape;

export const groupCommands: Command[] = [
  {
    name: "groups list",
    aliases: ["workergroups list", "groups ls"],
    args: "[endpoint]",
    summary: "An endpoint's worker groups",
    async run(ctx, parsed) {
      maxPositionals(parsed, 1, "groups list");
      const { client, connection } = ctx.connect();
      const endpoint = endpointArg(parsed, connection, "groups list");
      const { workergroups } = await client.request("GET", `/endpoints/${encodeURIComponent(endpoint)}/workergroups`, WorkerGroupList);
      if (parsed.values.json) return printJson(ctx.io, { workergroups });
      if (workergroups.length === 0) return ctx.io.stdout(`no worker groups on ${endpoint}: add one with \`gpuctl groups create ${endpoint} --image <image>\`\n`);
      const rows = workergroups.map((g) => [
        g.name,
        g.image ?? `template ${g.template_hash ?? "-"}`,
        g.gpu_ram === null ? "-" : `${g.gpu_ram} GB`,
        Object.keys(g.search_params).length ? JSON.stringify(g.search_params) : "-",
        g.cold_workers ?? "endpoint's",
        g.max_workers ?? "endpoint's",
      ]);
      ctx.io.stdout(table(["NAME", "IMAGE", "GPU RAM", "SEARCH", "COLD", "MAX"], rows));
    },
  },
  {
    name: "groups create",
    aliases: ["workergroups create"],
    args: "[endpoint]",
    summary: "Create a worker group: what to run and on which offers",
    options: fieldOptions(shape),
    details: `Fields (named after the admin API's; an image or a template hash is required):\n${fieldHelp(shape)}\n\nExample: gpuctl groups create chat --name rtx4090 --image vllm/vllm-openai:latest --gpu-ram 24 \\\n           --search-params '{"gpu_name": {"eq": "RTX 4090"}}' --env MODEL=Qwen/Qwen2.5-7B`,
    async run(ctx, parsed) {
      maxPositionals(parsed, 1, "groups create");
      const body = fieldValues(shape, parsed.values);
      validate(WorkerGroupCreate, body, "groups create");
      const { client, connection } = ctx.connect();
      const endpoint = endpointArg(parsed, connection, "groups create");
      const group = await client.request("POST", `/endpoints/${encodeURIComponent(endpoint)}/workergroups`, WorkerGroup, body);
      if (parsed.values.json) return printJson(ctx.io, group);
      ctx.io.stdout(`created worker group ${group.name} on ${endpoint}\n`);
    },
  },
];
