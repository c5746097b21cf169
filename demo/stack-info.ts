// Where the local stack's coordinates live: `npm start` writes them to <STATE_DIR>/stack.json (git-ignored)
// so the demo, the CLI and scripts can find the router, the demo endpoint and its key.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";

export const StackInfo = z.object({
  router: z.url(),
  endpoint: z.string().min(1),
  api_key: z.string().min(1),
  admin_token: z.string().min(1),
});
export type StackInfo = z.infer<typeof StackInfo>;

export function stackInfoPath(stateDir: string): string {
  return resolve(stateDir, "stack.json");
}

export function writeStackInfo(stateDir: string, info: StackInfo): void {
  writeFileSync(stackInfoPath(stateDir), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
}

/** From the environment (ROUTER_URL, ENDPOINT, API_KEY, ADMIN_TOKEN) first, then from the running stack's file. */
export function readStackInfo(env: NodeJS.ProcessEnv = process.env): StackInfo {
  const path = stackInfoPath(env.STATE_DIR || ".state");
  const file: Partial<StackInfo> = existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as Partial<StackInfo>) : {};
  const merged = {
    router: env.ROUTER_URL || file.router,
    endpoint: env.ENDPOINT || file.endpoint,
    api_key: env.API_KEY || file.api_key,
    admin_token: env.ADMIN_TOKEN || file.admin_token,
  };
  const parsed = StackInfo.safeParse(merged);
  if (!parsed.success) {
    throw new Error(
      `don't know which router to use: start the local stack with \`npm start\` (it writes ${path}), ` +
        `or set ROUTER_URL, ENDPOINT, API_KEY and ADMIN_TOKEN.\n${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}
