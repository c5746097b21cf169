// The admin token check, shared by every module mounted under /api/v1 (the admin API, its read
// routes): each applies it itself, so no route's protection depends on the order of mounting.
import type { Context } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { secretsEqual } from "../../core/secret.ts";

const unauthorizedBody = { code: "unauthorized", message: "a valid admin token is required (Authorization: Bearer <ADMIN_TOKEN>)" };

export const adminAuth = bearerAuth({
  verifyToken: (token, c: Context<{ Bindings: Env }>) => secretsEqual(token, c.env.ADMIN_TOKEN),
  noAuthenticationHeader: { message: unauthorizedBody },
  invalidAuthenticationHeader: { message: unauthorizedBody },
  invalidToken: { message: unauthorizedBody },
});
