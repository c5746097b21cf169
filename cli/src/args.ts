// Command-line parsing: node's parseArgs for the syntax, zod for every value. Flags for endpoint and
// worker-group fields are derived from the API's own schemas (`--min-load` for `min_load`), so a field
// added to a schema is a flag at once and is validated exactly as the router validates it.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { z } from "zod";
import { usageError } from "./cli-error.ts";

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** Flags every command takes. */
export const GLOBAL_OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  config: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies OptionSpec;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Parses `argv` against the command's options; unknown flags are usage errors naming the help to read. */
export function parse(argv: string[], options: OptionSpec, command: string): Parsed {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true });
    return { values: values as Parsed["values"], positionals };
  } catch (e) {
    throw usageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ""), `see \`gpuctl ${command} --help\``);
  }
}

const dashed = (field: string) => field.replaceAll("_", "-");

type Kind = "string" | "number" | "boolean" | "json" | "pairs";

/** What to turn a flag's text into, from the field's schema (wrappers such as optional/default unwrapped). */
function kindOf(schema: z.ZodType): Kind {
  let s = schema as unknown as { _zod: { def: { type: string; innerType?: unknown; in?: unknown; valueType?: unknown } } };
  for (;;) {
    const def = s._zod.def;
    if (def.innerType) s = def.innerType as typeof s;
    else if (def.type === "pipe" && def.in) s = def.in as typeof s;
    else break;
  }
  const def = s._zod.def;
  if (def.type === "number" || def.type === "int") return "number";
  if (def.type === "boolean") return "boolean";
  if (def.type === "record") {
    const value = (def.valueType as { _zod: { def: { type: string } } } | undefined)?._zod.def.type;
    return value === "string" ? "pairs" : "json";
  }
  if (def.type === "object" || def.type === "array") return "json";
  return "string";
}

/** `  --min-load <number>`, one line per field, with the choices of enums and `none` for nullables. */
export function fieldHelp(shape: Record<string, z.ZodType>): string {
  return Object.entries(shape)
    .map(([field, schema]) => {
      const kind = kindOf(schema);
      const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as { enum?: unknown[]; anyOf?: { enum?: unknown[] }[] };
      const choices = json.enum ?? json.anyOf?.find((a) => a.enum)?.enum;
      let value = choices ? choices.join("|") : kind === "pairs" ? "KEY=VALUE (repeatable)" : kind === "json" ? "JSON" : kind;
      if (schema.safeParse(null).success) value += "|none";
      return `  --${dashed(field)} <${value}>`;
    })
    .join("\n");
}

/** One `--field <value>` flag per field of `shape` (key=value pairs repeatable for string maps). */
export function fieldOptions(shape: Record<string, z.ZodType>): OptionSpec {
  return Object.fromEntries(Object.entries(shape).map(([k, s]) => [dashed(k), kindOf(s) === "pairs" ? { type: "string", multiple: true } : { type: "string" }]));
}

function jsonValue(flag: string, raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw usageError(`--${flag}: not JSON: ${raw}`, `quote it for the shell, e.g. --${flag} '{"gpu_name": {"eq": "RTX 4090"}}'`);
  }
}

/** The fields given as flags, as values of the types `shape` expects (zod then checks them). */
export function fieldValues(shape: Record<string, z.ZodType>, values: Parsed["values"]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, schema] of Object.entries(shape)) {
    const flag = dashed(field);
    const raw = values[flag];
    if (raw === undefined || typeof raw === "boolean") continue;
    const kind = kindOf(schema);
    if (Array.isArray(raw)) {
      // key=value pairs, or JSON objects, merged in order.
      const merged: Record<string, string> = {};
      for (const item of raw) {
        if (item.trim().startsWith("{")) Object.assign(merged, jsonValue(flag, item));
        else {
          const eq = item.indexOf("=");
          if (eq <= 0) throw usageError(`--${flag}: expected KEY=VALUE, got '${item}'`);
          merged[item.slice(0, eq)] = item.slice(eq + 1);
        }
      }
      out[field] = merged;
      continue;
    }
    if ((raw === "null" || raw === "none") && schema.safeParse(null).success) out[field] = null;
    else if (kind === "number") out[field] = raw.trim() !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
    else if (kind === "boolean") out[field] = raw === "true" ? true : raw === "false" ? false : raw;
    else if (kind === "json") out[field] = jsonValue(flag, raw);
    else out[field] = raw;
  }
  return out;
}

/** Parses `value` with `schema`; a failure is a usage error naming the flags in the shape of the CLI. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 5).map((i) => (i.path.length ? `--${dashed(String(i.path[0]))}${i.path.length > 1 ? `.${i.path.slice(1).join(".")}` : ""}: ${i.message}` : i.message));
  throw usageError(`${what}: ${issues.join("; ")}`);
}

/** A number flag within bounds. */
export function numberFlag(values: Parsed["values"], flag: string, schema: z.ZodNumber, fallback: number): number {
  const raw = values[flag];
  if (raw === undefined) return fallback;
  const parsed = z.coerce.number().pipe(schema).safeParse(raw);
  if (!parsed.success) throw usageError(`--${flag}: ${parsed.error.issues[0]?.message ?? "not a number"} (got '${String(raw)}')`);
  return parsed.data;
}
