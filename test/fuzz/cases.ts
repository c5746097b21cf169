// From a surface's description (its routes, their fields, what it answers) to fuzz cases: each case
// is one input class applied to a valid request, and is invalid by construction. Materialising a
// case needs the running target (names, keys, fresh tokens), so cases are data until then.
import fc from "fast-check";
import type { z } from "zod";
import { Raw, encode, type FuzzRequest, type Value } from "./body.ts";
import { CLASSES, extraFields, fieldMutation, strayBytes, syntaxBreak, type FieldMutation, type FieldSpec, type InputClass } from "./fields.ts";

export interface RouteSpec<C> {
  /** For the figures, e.g. "POST /endpoints". */
  name: string;
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: (ctx: C) => string;
  /** Body fields (JSON routes) or query fields (`query: true`), with dotted names for nested ones. */
  fields: FieldSpec[];
  query?: boolean;
  /** A valid body (or query) for this target. */
  base: (ctx: C) => Record<string, Value> | Promise<Record<string, Value>>;
  /** Unknown fields are refused (zod .strict()); otherwise ignored, as Vast's protocol wants. */
  strict: boolean;
  /** Headers a valid request carries (authorisation). */
  headers: (ctx: C) => Record<string, string>;
  /** Ways to present wrong credentials, applied to a valid request (→ 401/404). */
  credentials?: ((ctx: C, r: { path: string; headers: Record<string, string>; body: Record<string, Value> }) => void | Promise<void>)[];
  /** A path segment that may be made invalid: the request's path with `segment` in its place. */
  badPath?: (ctx: C, segment: string) => string;
  /** Not JSON: how this route's target answers a body of another type (the agent reads any body as JSON). */
  otherFormats?: boolean;
}

export interface Surface<C> {
  name: string;
  routes: RouteSpec<C>[];
  /** Statuses a malformed input may get. */
  statuses: number[];
  /** The documented error body for a status. */
  errorShape: (status: number) => z.ZodType;
  bodyLimit: number;
}

export interface FuzzCase {
  klass: InputClass;
  route: number;
  mutation?: FieldMutation;
  extra?: Record<string, Value>;
  root?: Value;
  contentType?: string | null;
  syntax?: (text: string) => string;
  /** Bytes beyond the limit. */
  overBy?: number;
  chunked?: boolean;
  credential?: number;
  segment?: string;
  format?: number;
}

const BAD_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", null, "application/jsonx", "text/json", "json"];
const OTHER_FORMATS: [string, (body: string) => string][] = [
  ["application/x-www-form-urlencoded", (b) => `auth_data=${encodeURIComponent(b)}&payload=x`],
  ["multipart/form-data; boundary=b", (b) => `--b\r\nContent-Disposition: form-data; name="auth_data"\r\n\r\n${b}\r\n--b--\r\n`],
  ["application/xml", () => "<call><auth_data/><payload/></call>"],
  ["text/plain", () => "hello"],
];
const BAD_SEGMENTS = fc.oneof(
  fc.constantFrom("has%20space", "..%2Fetc", "-lead", "%FF", "%C3%28", "a%00b", "%E2%82", "%ED%A0%80"),
  fc.integer({ min: 65, max: 3000 }).map((n) => "a".repeat(n)),
);

/** Query strings a `z.coerce.number().int().min(≥1).max(…)` field refuses (Number("0x10") is 16: no hex). */
function queryMutation(fields: FieldSpec[], klass: InputClass): fc.Arbitrary<FieldMutation> | null {
  const options = fields.flatMap((f) => {
    if (f.kind !== "number") return [];
    const v: fc.Arbitrary<string> | null =
      klass === "wrong_type" ? fc.stringMatching(/^[a-z_]{1,8}$/)
      : klass === "negative_number" ? fc.integer({ min: -1e9, max: -1 }).map(String)
      : klass === "huge_number" ? fc.oneof(fc.double({ min: f.max * 2 + 1, max: 1e300, noNaN: true }).map((x) => String(Math.ceil(x))), fc.constantFrom("1e999", "99999999999999999999999"))
      : klass === "nan_inf_string" ? fc.constantFrom("NaN", "Infinity", "-Infinity")
      : klass === "bad_value" ? fc.oneof(fractionalText, fc.constantFrom("", " "))
      : null;
    return v ? [v.map((value): FieldMutation => ({ field: f.name, value }))] : [];
  });
  return options.length ? fc.oneof(...options) : null;
}
const fractionalText = fc.tuple(fc.integer({ min: 1, max: 999 }), fc.integer({ min: 1, max: 9 })).map(([a, b]) => `${a}.${b}`);

/** Cases of one class for one route, or null when the class does not apply to it. */
function classCases<C>(r: RouteSpec<C>, i: number, klass: InputClass): fc.Arbitrary<FuzzCase> | null {
  const json = !r.query && r.method !== "GET" && r.method !== "DELETE";
  if (r.query) {
    const q = queryMutation(r.fields, klass)?.map((mutation): FuzzCase => ({ klass, route: i, mutation }));
    const path = klass === "bad_value" && r.badPath ? BAD_SEGMENTS.map((segment): FuzzCase => ({ klass, route: i, segment })) : null;
    const options = [q, path].filter((x): x is fc.Arbitrary<FuzzCase> => x != null);
    if (klass === "wrong_credentials" && r.credentials?.length) options.push(fc.integer({ min: 0, max: r.credentials.length - 1 }).map((credential): FuzzCase => ({ klass, route: i, credential })));
    return options.length ? fc.oneof(...options) : null;
  }
  const known = r.fields.map((f) => f.name.split(".")[0]!);
  // A decoration only: ignored keys must not turn a refusal into an answer (or a crash).
  const withExtra = (a: fc.Arbitrary<FuzzCase>) => (json && !r.strict ? fc.tuple(a, fc.option(extraFields(known), { freq: 3 })).map(([c, extra]) => (extra ? { ...c, extra } : c)) : a);
  switch (klass) {
    case "wrong_type": {
      const m = fieldMutation(r.fields, klass);
      const root = json ? fc.oneof(fc.array(fc.integer(), { maxLength: 3 }), fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null)).map((root): FuzzCase => ({ klass, route: i, root: root as Value })) : null;
      const field = m?.map((mutation): FuzzCase => ({ klass, route: i, mutation }));
      const options = [root, field].filter((x): x is fc.Arbitrary<FuzzCase> => x != null);
      return options.length ? withExtra(fc.oneof(...options)) : null;
    }
    case "bad_value": {
      const m = fieldMutation(r.fields, klass)?.map((mutation): FuzzCase => ({ klass, route: i, mutation }));
      const path = r.badPath ? BAD_SEGMENTS.map((segment): FuzzCase => ({ klass, route: i, segment })) : null;
      const options = [m, path].filter((x): x is fc.Arbitrary<FuzzCase> => x != null);
      return options.length ? withExtra(fc.oneof(...options)) : null;
    }
    case "extra_field":
      return json && r.strict ? extraFields(known).map((extra): FuzzCase => ({ klass, route: i, extra })) : null;
    case "invalid_utf8": {
      if (!json) return r.badPath ? fc.constantFrom("%FF", "%C3%28", "%ED%A0%80").map((segment): FuzzCase => ({ klass, route: i, segment })) : null;
      const m = fieldMutation(r.fields, klass)?.map((mutation): FuzzCase => ({ klass, route: i, mutation }));
      // In a field nobody reads: only a check of the bytes themselves can refuse it.
      const ignored = fc.tuple(fieldMutation([{ name: "zz_note", kind: "string", max: 100 }], klass)!, strayBytes).map(([mm, stray]): FuzzCase => ({ klass, route: i, extra: { [mm.field]: mm.value!, zz_stray: stray } }));
      const unread = fieldMutation([{ name: "zz_note", kind: "string", max: 100 }], klass)!.map((mm): FuzzCase => ({ klass, route: i, extra: { [mm.field]: mm.value! } }));
      return fc.oneof(...[m, ignored, unread].filter((x): x is fc.Arbitrary<FuzzCase> => x != null));
    }
    case "over_limit":
      return json ? fc.tuple(fc.integer({ min: 1, max: 64_000 }), fc.boolean()).map(([overBy, chunked]): FuzzCase => ({ klass, route: i, overBy, chunked })) : null;
    case "wrong_content_type":
      if (!json) return null;
      return r.otherFormats
        ? fc.integer({ min: 0, max: OTHER_FORMATS.length - 1 }).map((format): FuzzCase => ({ klass, route: i, format }))
        : fc.constantFrom(...BAD_TYPES).map((contentType): FuzzCase => ({ klass, route: i, contentType }));
    case "bad_syntax":
      return json ? withExtra(syntaxBreak.map((syntax): FuzzCase => ({ klass, route: i, syntax }))) : null;
    case "wrong_credentials":
      return r.credentials?.length ? withExtra(fc.integer({ min: 0, max: r.credentials.length - 1 }).map((credential): FuzzCase => ({ klass, route: i, credential }))) : null;
    default: {
      const m = fieldMutation(r.fields, klass);
      return m ? withExtra(m.map((mutation): FuzzCase => ({ klass, route: i, mutation }))) : null;
    }
  }
}

/** Every applicable (class, route) pair, weighted equally by class. */
export function casesOf<C>(s: Surface<C>, classes: readonly InputClass[] = CLASSES): fc.Arbitrary<FuzzCase> {
  const byClass = classes.flatMap((k) => {
    const perRoute = s.routes.map((r, i) => classCases(r, i, k)).filter((x): x is fc.Arbitrary<FuzzCase> => x !== null);
    return perRoute.length ? [fc.oneof(...perRoute)] : [];
  });
  return fc.oneof(...byClass);
}

function setPath(o: Record<string, Value>, dotted: string, value: Value | undefined): void {
  const keys = dotted.split(".");
  let at = o;
  for (const k of keys.slice(0, -1)) {
    const next = at[k];
    if (next === null || typeof next !== "object" || Array.isArray(next) || next instanceof Raw) return;
    at = next as Record<string, Value>;
  }
  const last = keys[keys.length - 1]!;
  if (value === undefined) delete at[last];
  else at[last] = value;
}

/** The case as a request to `s`'s target. */
export async function materialise<C>(s: Surface<C>, c: FuzzCase, ctx: C): Promise<FuzzRequest> {
  const r = s.routes[c.route]!;
  const base = structuredClone(await r.base(ctx)) as Record<string, Value>;
  const req = { path: r.path(ctx), headers: { ...r.headers(ctx) }, body: base };
  if (c.segment !== undefined && r.badPath) req.path = r.badPath(ctx, c.segment);
  if (c.mutation) setPath(req.body, c.mutation.field, c.mutation.value);
  if (c.credential !== undefined) await r.credentials![c.credential]!(ctx, req);
  if (r.query || r.method === "GET" || r.method === "DELETE") {
    const q = Object.entries(req.body)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
    return { method: r.method, path: q.length ? `${req.path}?${q.join("&")}` : req.path, headers: req.headers };
  }
  const body: Value = c.root !== undefined ? c.root : { ...req.body, ...(c.extra ?? {}) };
  let bytes = encode(body);
  const headers: Record<string, string> = { ...req.headers, "content-type": "application/json" };
  if (c.syntax) bytes = new TextEncoder().encode(c.syntax(new TextDecoder().decode(bytes)));
  if (c.overBy !== undefined) {
    const pad = s.bodyLimit - bytes.length + c.overBy + 16;
    bytes = encode({ ...(body as Record<string, Value>), zz_pad: "x".repeat(Math.max(pad, 1)) });
  }
  if (c.contentType !== undefined) {
    if (c.contentType === null) delete headers["content-type"];
    else headers["content-type"] = c.contentType;
  }
  if (c.format !== undefined) {
    const [type, render] = OTHER_FORMATS[c.format]!;
    headers["content-type"] = type;
    bytes = new TextEncoder().encode(render(new TextDecoder().decode(bytes)));
  }
  return { method: r.method, path: req.path, headers, body: bytes, chunked: c.chunked };
}

/** A short description of a case for reports (no megabyte strings). */
export function describeCase<C>(s: Surface<C>, c: FuzzCase): string {
  const parts = [s.routes[c.route]!.name, c.klass];
  if (c.mutation) parts.push(`${c.mutation.field}=${c.mutation.value === undefined ? "<removed>" : JSON.stringify(c.mutation.value).slice(0, 60)}`);
  if (c.extra) parts.push(`extra ${Object.keys(c.extra).join(",")}`);
  if (c.segment) parts.push(`segment ${c.segment.slice(0, 40)}`);
  if (c.contentType !== undefined) parts.push(`type ${c.contentType}`);
  if (c.overBy !== undefined) parts.push(`over by ${c.overBy}${c.chunked ? " chunked" : ""}`);
  if (c.credential !== undefined) parts.push(`credential #${c.credential}`);
  if (c.format !== undefined) parts.push(`format ${OTHER_FORMATS[c.format]![0]}`);
  return parts.join(" | ");
}
