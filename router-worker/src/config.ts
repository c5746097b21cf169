// The router's string settings, parsed once per isolate with defaults and clear errors.
import { z } from "zod";

/** Largest body any route accepts (a worker report with thousands of request ids fits). */
export const BODY_LIMIT_BYTES = 256 * 1024;

const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);

export const RouterConfig = z.object({
  ROUTE_HOLD_MS: int(4000, 0, 9000),
  STALE_AFTER_MS: int(30_000, 1000, 3_600_000),
  TOKEN_TTL_S: int(60, 1, 3600),
  TOKEN_TTL_MAX_S: int(300, 1, 3600),
  ROUTE_RATE_PER_KEY: int(1000, 1, 1_000_000),
});
export type RouterConfig = z.infer<typeof RouterConfig>;

let cached: { source: unknown; config: RouterConfig } | undefined;

export function loadConfig(env: Env): RouterConfig {
  if (cached?.source === env) return cached.config;
  const parsed = RouterConfig.safeParse(env);
  if (!parsed.success) throw new Error(`router configuration: ${z.prettifyError(parsed.error)}`);
  cached = { source: env, config: parsed.data };
  return parsed.data;
}
