// `gpuctl endpoints list|show|create|update|delete`: endpoints and their parameters. Parameter flags
// come from the API's schema (EndpointParams), so `--min-load 2 --inactivity-timeout none` mean what
// the admin API says they mean.
import { EndpointList, Overview, type EndpointSummary } from "../../../core/admin-api.ts";
import { Endpoint, EndpointCreate, EndpointParams, EndpointPatch } from "../../../core/endpoint.ts";
import { fieldHelp, fieldOptions, fieldValues, validate } from "../args.ts";
import { usageError } from "../cli-error.ts";
import { maxPositionals, type Command } from "../command.ts";
import { dollars, perHour, printJson, table, units, type Io } from "../output.ts";

const PARAM_FLAGS = fieldOptions(EndpointParams.shape);
const PARAM_HELP = `Parameters (named after the admin API's fields; 'none' clears a nullable one):\n${fieldHelp(EndpointParams.shape)}`;

function name(positionals: string[], command: string): string {
  const n = positionals[0];
  if (!n) throw usageError("which endpoint?", `name it: \`gpuctl ${command} <name>\``);
  return n;
}

function workersCell(s: EndpointSummary | undefined): string {
  if (!s) return "-";
  const parts = Object.entries(s.workers).filter(([, n]) => n > 0).map(([phase, n]) => `${n} ${phase}`);
  return parts.join(", ") || "none";
}

/** An endpoint's parameters, one per line. */
function printEndpoint(io: Io, e: Endpoint): void {
  const rows = Object.entries(e).map(([k, v]) => [k, v === null ? "none" : k.endsWith("_at") ? new Date(Number(v)).toISOString() : String(v)]);
  io.stdout(table(["FIELD", "VALUE"], rows));
}

export const endpointCommands: Command[] = [
  {
    name: "endpoints list",
    aliases: ["ep list", "endpoints ls"],
    args: "",
    summary: "Endpoints with their workers, load against capacity, $/h now and spent today",
    async run(ctx, parsed) {
      maxPositionals(parsed, 0, "endpoints list");
      const { client } = ctx.connect();
      const [{ endpoints }, overview] = await Promise.all([client.request("GET", "/endpoints", EndpointList), client.request("GET", "/overview", Overview)]);
      const byName = new Map(overview.endpoints.map((s) => [s.name, s]));
      if (parsed.values.json) return printJson(ctx.io, { endpoints: endpoints.map((e) => ({ ...e, status: byName.get(e.name) ?? null })) });
      if (endpoints.length === 0) return ctx.io.stdout("no endpoints yet: create one with `gpuctl endpoints create <name>`\n");
      const rows = endpoints.map((e) => {
        const s = byName.get(e.name);
        return [
          e.name,
          e.endpoint_state,
          workersCell(s),
          s ? `${units(s.load)}/${units(s.hot_capacity)}` : "-",
          s ? units(s.cold_capacity) : "-",
          s ? perHour(s.cost.dph_now) : "-",
          s ? dollars(s.cost.spent_today) : "-",
        ];
      });
      ctx.io.stdout(table(["NAME", "STATE", "WORKERS", "LOAD/HOT", "COLD", "$/H", "TODAY"], rows));
    },
  },
  {
    name: "endpoints show",
    aliases: ["ep show", "endpoints get"],
    args: "<name>",
    summary: "An endpoint's parameters",
    async run(ctx, parsed) {
      maxPositionals(parsed, 1, "endpoints show");
      const n = name(parsed.positionals, "endpoints show");
      const e = await ctx.connect().client.request("GET", `/endpoints/${encodeURIComponent(n)}`, Endpoint);
      if (parsed.values.json) return printJson(ctx.io, e);
      printEndpoint(ctx.io, e);
    },
  },
  {
    name: "endpoints create",
    aliases: ["ep create"],
    args: "<name>",
    summary: "Create an endpoint (unset parameters take Vast's defaults)",
    options: PARAM_FLAGS,
    details: `${PARAM_HELP}\n\nExample: gpuctl endpoints create chat --max-workers 4 --inactivity-timeout 300`,
    async run(ctx, parsed) {
      maxPositionals(parsed, 1, "endpoints create");
      const body = { name: name(parsed.positionals, "endpoints create"), ...fieldValues(EndpointParams.shape, parsed.values) };
      validate(EndpointCreate, body, "endpoints create");
      const e = await ctx.connect().client.request("POST", "/endpoints", Endpoint, body);
      if (parsed.values.json) return printJson(ctx.io, e);
      ctx.io.stdout(`created endpoint ${e.name}; add a worker group with \`gpuctl groups create ${e.name} --image <image>\` and a key with \`gpuctl keys create ${e.name}\`\n`);
      printEndpoint(ctx.io, e);
    },
  },
  {
    name: "endpoints update",
    aliases: ["ep update", "endpoints set"],
    args: "<name>",
    summary: "Change an endpoint's parameters",
    options: PARAM_FLAGS,
    details: `${PARAM_HELP}\n\nExample: gpuctl endpoints update chat --min-load 50 --max-hourly-cost none`,
    async run(ctx, parsed) {
      maxPositionals(parsed, 1, "endpoints update");
      const n = name(parsed.positionals, "endpoints update");
      const patch = fieldValues(EndpointParams.shape, parsed.values);
      if (Object.keys(patch).length === 0) throw usageError("nothing to change", "give at least one parameter, e.g. `--max-workers 8` (see `gpuctl endpoints update --help`)");
      validate(EndpointPatch, patch, "endpoints update");
      const e = await ctx.connect().client.request("PATCH", `/endpoints/${encodeURIComponent(n)}`, Endpoint, patch);
      if (parsed.values.json) return printJson(ctx.io, e);
      ctx.io.stdout(`updated endpoint ${e.name}: ${Object.keys(patch).join(", ")}\n`);
    },
  },
  {
    name: "endpoints delete",
    aliases: ["ep delete", "endpoints rm"],
    args: "<name>",
    summary: "Delete an endpoint: routing stops at once, the scaler releases its instances",
    options: { yes: { type: "boolean", short: "y" } },
    details: "  --yes, -y  required: deleting cannot be undone",
    async run(ctx, parsed) {
      maxPositionals(parsed, 1, "endpoints delete");
      const n = name(parsed.positionals, "endpoints delete");
      if (!parsed.values.yes) throw usageError(`deleting '${n}' stops its traffic and releases its instances`, `confirm with \`gpuctl endpoints delete ${n} --yes\``);
      const e = await ctx.connect().client.request("DELETE", `/endpoints/${encodeURIComponent(n)}`, Endpoint);
      if (parsed.values.json) return printJson(ctx.io, e);
      ctx.io.stdout(`deleted endpoint ${e.name}; the scaler releases its instances at its next pass\n`);
    },
  },
];

