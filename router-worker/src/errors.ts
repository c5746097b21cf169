// The router's one onError: AppError → its status and public message, in the shape the route's
// protocol fixes (Vast's `{error_msg}` / `{"error": "Authentication failed"}`, or `{code, message}`
// on the admin API); anything else → a generic 500 with the detail in the log only.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { AppError } from "../../core/app-error.ts";
import { log } from "../../core/log.ts";

function isAdminPath(path: string): boolean {
  return path.startsWith("/api/");
}

export function errorBody(path: string, e: AppError): Record<string, unknown> {
  if (isAdminPath(path)) return { code: e.code, message: e.message };
  if (e.status === 401) return { error: "Authentication failed" };
  return { error_msg: e.message };
}

export function onError(err: Error, c: Context): Response {
  let e: AppError;
  if (err instanceof AppError) {
    e = err;
  } else if (err instanceof HTTPException) {
    if (err.res) return err.res;
    const status = err.status === 413 ? 413 : err.status >= 400 && err.status < 500 ? 400 : 500;
    e = new AppError(status, status === 413 ? "payload_too_large" : status === 400 ? "bad_request" : "internal", err.message);
  } else {
    log("error", "unhandled error", { path: c.req.path, error: err.stack ?? String(err) });
    e = new AppError(500, "internal", "internal error");
  }
  if (e.detail !== undefined || e.status >= 500) {
    log(e.status >= 500 ? "error" : "info", e.message, { path: c.req.path, status: e.status, detail: e.detail });
  }
  return c.json(errorBody(c.req.path, e), e.status as 400, e.headers);
}

export function notFoundHandler(c: Context): Response {
  return c.json(errorBody(c.req.path, new AppError(404, "not_found", `no route ${c.req.method} ${c.req.path}`)), 404);
}
