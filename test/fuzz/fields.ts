// What a surface's fields accept (read off its zod schema by hand, so a schema change that loosens a
// field shows up as a failing case), and, per input class, values that field must refuse. Every
// generated value is invalid for its field: a case that happened to be valid would be served, which
// is not what a malformed-input property can assert.
import fc from "fast-check";
import { BAD_UTF8, Raw, badUtf8String, nested, type Value } from "./body.ts";

interface Common {
  name: string;
  required?: boolean;
  /** Values of the right type the field refuses, when its rule is not a pattern (URLs, tokens). */
  bad?: Value[];
}

export type FieldSpec = Common &
  (
    | { kind: "string"; min?: number; max: number; pattern?: RegExp }
    | { kind: "number"; min: number; max: number; int?: boolean; exclusiveMin?: boolean; nullable?: boolean }
    | { kind: "enum"; values: string[] }
    | { kind: "indexes"; max: number }
    | { kind: "record" }
    /** A worker id: a non-negative safe integer or an id string. */
    | { kind: "id" }
    /** Anything at all (the model payload): only nesting too deep to forward is wrong. */
    | { kind: "any" }
  );

/** The input classes of the issue, plus malformed JSON and wrong credentials. */
export const CLASSES = [
  "wrong_type",
  "bad_value",
  "missing_field",
  "extra_field",
  "huge_number",
  "negative_number",
  "nan_inf_string",
  "deep_nesting",
  "long_string",
  "invalid_utf8",
  "over_limit",
  "wrong_content_type",
  "bad_syntax",
  "wrong_credentials",
] as const;
export type InputClass = (typeof CLASSES)[number];

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const json = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Value>;
const notNumber: fc.Arbitrary<Value> = fc.oneof(fc.string({ maxLength: 8 }), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }));
const notString: fc.Arbitrary<Value> = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 }));
const fractional = fc.double({ min: 0.0001, max: 1e9, noNaN: true }).filter((x) => !Number.isInteger(x));

/** A value of the wrong JSON type for the field (null counts where the field is not nullable). */
function wrongType(f: FieldSpec): fc.Arbitrary<Value> | null {
  switch (f.kind) {
    case "string":
    case "enum":
      return notString;
    case "number":
      return fc.oneof(f.nullable ? notNumber : fc.oneof(notNumber, fc.constant(null)), f.int ? fractional : fc.constant("1"));
    case "indexes":
      return fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null), fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }), fc.array(fc.oneof(fc.string(), fc.boolean(), fc.constant(null), fractional), { minLength: 1, maxLength: 4 }));
    case "record":
      return fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }));
    case "id":
      return fc.oneof(fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }), fractional);
    case "any":
      return null;
  }
}

/** The right type, a wrong value: an enum outside its list, a string outside its pattern or too short. */
function badValue(f: FieldSpec): fc.Arbitrary<Value> | null {
  if (f.bad) return fc.constantFrom(...f.bad);
  if (f.kind === "enum") return fc.string({ maxLength: 12 }).filter((s) => !f.values.includes(s));
  if (f.kind === "string" && f.pattern) {
    const re = f.pattern;
    return fc.oneof(fc.string({ maxLength: Math.min(f.max, 40) }), fc.constantFrom("has space", "../etc", "-lead", "a/b", "ünï", "x\u0000y", "")).filter((s) => !re.test(s) || s.length < (f.min ?? 0));
  }
  if (f.kind === "string" && (f.min ?? 0) > 0) return fc.constant("");
  if (f.kind === "record") return fc.constant({ "bad key!": "x" });
  return null;
}

function hugeNumber(f: FieldSpec): fc.Arbitrary<Value> | null {
  if (f.kind === "number") return fc.oneof(fc.double({ min: Math.max(f.max * 2, f.max + 1), max: 1e308, noNaN: true }), fc.constant(Raw.text("1e999")), fc.constant(Raw.text("123456789012345678901234567890123456789")));
  if (f.kind === "id") return fc.oneof(fc.double({ min: 2 ** 53, max: 1e300, noNaN: true }), fc.constant(Raw.text("1e999")));
  if (f.kind === "indexes") return fc.array(fc.double({ min: 2 ** 53, max: 1e300, noNaN: true }), { minLength: 1, maxLength: 3 });
  return null;
}

function negativeNumber(f: FieldSpec): fc.Arbitrary<Value> | null {
  if (f.kind === "number" && f.min >= 0) {
    const below = fc.double({ min: -1e308, max: -Number.MIN_VALUE, noNaN: true });
    return f.exclusiveMin ? fc.oneof(below, fc.constant(0)) : below;
  }
  if (f.kind === "id") return fc.integer({ min: -MAX_SAFE, max: -1 });
  if (f.kind === "indexes") return fc.array(fc.integer({ min: -MAX_SAFE, max: -1 }), { minLength: 1, maxLength: 3 });
  return null;
}

function nanInf(f: FieldSpec): fc.Arbitrary<Value> | null {
  if (f.kind !== "number" && f.kind !== "id" && f.kind !== "indexes") return null;
  const v = fc.oneof(fc.constantFrom<Value>("NaN", "Infinity", "-Infinity", "1e999", "0x10", "+5", "∞"), fc.constantFrom(Raw.text("NaN"), Raw.text("Infinity"), Raw.text("-Infinity")));
  return f.kind === "indexes" ? fc.array(v, { minLength: 1, maxLength: 3 }) : v;
}

/** Nesting: any depth is wrong for a typed field; the payload only when too deep to serialise again. */
function deepNesting(f: FieldSpec): fc.Arbitrary<Value> {
  // Arrays only for the payload: 2 bytes a level keeps 100,000 levels under the body limit.
  if (f.kind === "any") return fc.integer({ min: 100_000, max: 120_000 }).map((d) => nested(d, "array"));
  return fc.tuple(fc.integer({ min: 2, max: 40_000 }), fc.constantFrom<"array" | "object">("array", "object")).map(([d, k]) => nested(d, k));
}

function longString(f: FieldSpec): fc.Arbitrary<Value> | null {
  if (f.kind !== "string") return null;
  return fc.tuple(fc.integer({ min: f.max + 1, max: f.max + 60_000 }), fc.constantFrom("a", "é", "0")).map(([n, c]) => c.repeat(n));
}

function invalidUtf8(): fc.Arbitrary<Value> {
  return fc.tuple(fc.string({ maxLength: 6 }).map((s) => s.replace(/["\\]/g, "")), fc.constantFrom(...BAD_UTF8), fc.string({ maxLength: 6 }).map((s) => s.replace(/["\\]/g, ""))).map(([a, bad, b]) => badUtf8String(a, bad, b));
}

export interface FieldMutation {
  field: string;
  /** undefined: the field is removed. */
  value?: Value;
}

/** For one class, a mutation of one of `fields` that makes the body invalid, or null if none applies. */
export function fieldMutation(fields: FieldSpec[], klass: InputClass): fc.Arbitrary<FieldMutation> | null {
  const options: fc.Arbitrary<FieldMutation>[] = [];
  for (const f of fields) {
    const arb =
      klass === "wrong_type" ? wrongType(f)
      : klass === "bad_value" ? badValue(f)
      : klass === "huge_number" ? hugeNumber(f)
      : klass === "negative_number" ? negativeNumber(f)
      : klass === "nan_inf_string" ? nanInf(f)
      : klass === "deep_nesting" ? deepNesting(f)
      : klass === "long_string" ? longString(f)
      : klass === "invalid_utf8" ? (f.kind === "string" || f.kind === "enum" || f.kind === "id" ? invalidUtf8() : null)
      : null;
    if (arb) options.push(arb.map((value) => ({ field: f.name, value })));
    if (klass === "missing_field" && f.required) options.push(fc.constant({ field: f.name }));
  }
  return options.length > 0 ? fc.oneof(...options) : null;
}

/** Keys no schema knows, with any values. */
export function extraFields(known: string[]): fc.Arbitrary<Record<string, Value>> {
  return fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !known.includes(k) && k !== "__proto__"), json, { minKeys: 1, maxKeys: 3 });
}

/** Bytes that are not UTF-8 where the grammar has none (outside strings, or as a key). */
export const strayBytes = fc.constantFrom(...BAD_UTF8).map((b) => new Raw(new Uint8Array(b)));

/** Corrupts valid JSON text of an object so that it no longer parses. */
export const syntaxBreak: fc.Arbitrary<(text: string) => string> = fc.oneof(
  fc.nat().map((n) => (t: string) => t.slice(0, n % t.length)),
  fc.constantFrom(
    (t: string) => `${t}x`,
    (t: string) => `${t.slice(0, -1)},}`,
    (t: string) => `/*c*/${t}`,
    (t: string) => t.replace(/"/g, "'"),
    (t: string) => `${t}${t}`,
    (t: string) => t.replace(/:/, ""),
    (t: string) => `[${t}`,
  ),
);
