// The one validator wrapper: every body and query goes through a zod schema before a handler runs.
// Handlers read only `c.req.valid(...)`.
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { validator } from "hono/validator";
import { z } from "zod";
import { AppError, badRequest } from "../../core/app-error.ts";
import { BODY_LIMIT_BYTES } from "./config.ts";

function mediaType(header: string | undefined): string {
  return (header ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

const isJson = (type: string) => /^application\/([\w.-]+\+)?json$/.test(type);

const sizeLimit = bodyLimit({
  maxSize: BODY_LIMIT_BYTES,
  onError: () => {
    throw new AppError(413, "payload_too_large", `the body exceeds ${BODY_LIMIT_BYTES} bytes`);
  },
});

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Every route: bodies over the limit are refused with 413 before anything reads them, and JSON bodies
 * that are not UTF-8 with 400 (RFC 8259 §8.1): decoding them would silently replace their bytes.
 * The text decoded for that check is what `c.req.text()` and `c.req.json()` would have decoded
 * (valid UTF-8, BOM stripped), so it goes into Hono's body cache: otherwise each later read decodes
 * the bytes again through a `new Response(...)` (~12 µs a read in workerd).
 */
export const limitBodies: MiddlewareHandler = (c, next) =>
  sizeLimit(c, async () => {
    if (c.req.raw.body && isJson(mediaType(c.req.header("content-type")))) {
      const bytes = await c.req.arrayBuffer();
      let text: string;
      try {
        text = utf8.decode(bytes);
      } catch {
        throw badRequest("the body is not UTF-8");
      }
      // Hono keeps each body read as a promise in `bodyCache` (its declared type says the value).
      (c.req.bodyCache as unknown as { text?: Promise<string> }).text = Promise.resolve(text);
    }
    await next();
  });

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message))
    .join("; ");
}

const notJson = () => new AppError(415, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)");

function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw badRequest(describe(parsed.error));
  return parsed.data;
}

/** A JSON body parsed by `schema`: 415 for another content type, 400 for malformed JSON or a wrong shape. */
export const jsonBody = <S extends z.ZodType>(schema: S) =>
  validator("json", (value, c): z.output<S> => {
    if (!isJson(mediaType(c.req.header("content-type")))) throw notJson();
    return parseWith(schema, value);
  });

/** Like `jsonBody`, but an empty body without a content type stands for `{}`. */
export const optionalJsonBody = <S extends z.ZodType>(schema: S) =>
  validator("json", async (value, c): Promise<z.output<S>> => {
    const type = mediaType(c.req.header("content-type"));
    if (type === "" && (await c.req.text()).trim() === "") return parseWith(schema, {});
    if (!isJson(type)) throw notJson();
    return parseWith(schema, value);
  });

/** Query parameters parsed by `schema`. */
export const queryParams = <S extends z.ZodType>(schema: S) =>
  validator("query", (value): z.output<S> => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw badRequest(describe(parsed.error));
    return parsed.data;
  });

/** Path parameters parsed by `schema`. */
export const pathParams = <S extends z.ZodType>(schema: S) =>
  validator("param", (value): z.output<S> => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw badRequest(describe(parsed.error));
    return parsed.data;
  });
