// `npm run dev:router`: the router alone on loopback, with local D1 and Durable Objects.
// PORT (default 8787) and ADMIN_TOKEN come from the environment; secrets missing from .dev.vars are generated.
import { z } from "zod";
import { ensureDevSecrets } from "./dev-secrets.ts";
import { ROOT, applyLocalMigrations, startWorkers } from "./local-workers.ts";

const Env = z.object({
  PORT: z.coerce.number().int().min(1).max(65535).default(8787),
  ADMIN_TOKEN: z.string().min(16, "ADMIN_TOKEN must be at least 16 characters").optional(),
  STATE_DIR: z.string().default(".state"),
});

const parsed = Env.safeParse(Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== "")));
if (!parsed.success) {
  console.error(`dev:router: ${z.prettifyError(parsed.error)}`);
  process.exit(2);
}
const env = parsed.data;
const secrets = await ensureDevSecrets(ROOT, env.ADMIN_TOKEN);
await applyLocalMigrations(env.STATE_DIR);
// The router alone: its scale-now calls answer 503 and are logged (the scaler runs under `npm start`).
const router = await startWorkers([{ config: "wrangler.toml", vars: { ...secrets } }], { stateDir: env.STATE_DIR, port: env.PORT, verbose: true });
console.log(`router: ${router.url.origin}`);
if (!env.ADMIN_TOKEN) console.log(`admin_token: ${secrets.ADMIN_TOKEN} (from .dev.vars)`);

const stop = async () => {
  await router.dispose();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
