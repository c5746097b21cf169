// Development secrets for the local Workers: an admin token and fresh signing keys, written to a
// git-ignored .dev.vars (and scaler-worker/.dev.vars) only if missing. Never used in production:
// there the same names are `wrangler secret put` (README, Deploy).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { generateTokenKey } from "../core/token.ts";
import { generateVastKey } from "../core/vast-signature.ts";
import { mintSecret } from "../core/secret.ts";

export interface DevSecrets {
  ADMIN_TOKEN: string;
  TOKEN_KEYS: string;
  VAST_SIGNING_KEY: string;
}

/** Fresh secrets in the form the router reads them. */
export async function generateDevSecrets(adminToken?: string): Promise<DevSecrets> {
  return {
    ADMIN_TOKEN: adminToken ?? mintSecret("adm_"),
    TOKEN_KEYS: JSON.stringify({ keys: [await generateTokenKey(`dev-${new Date().toISOString().slice(0, 10)}`)] }),
    VAST_SIGNING_KEY: JSON.stringify(await generateVastKey()),
  };
}

/** Reads KEY='value' lines (the subset of dotenv we write). */
export function readDevVars(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(path)) return out;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const m = line.match(/^([A-Z0-9_]+)=(?:'([^']*)'|"([^"]*)"|(.*))$/);
    if (m?.[1]) out[m[1]] = m[2] ?? m[3] ?? m[4] ?? "";
  }
  return out;
}

function writeDevVars(path: string, vars: Record<string, string>): void {
  const body = Object.entries(vars)
    .map(([k, v]) => `${k}='${v}'`)
    .join("\n");
  writeFileSync(path, `# Development secrets, generated; never commit.\n${body}\n`, { mode: 0o600 });
}

/**
 * Ensures the router's .dev.vars holds every secret; an ADMIN_TOKEN given in the environment wins.
 * Returns the secrets in effect.
 */
export async function ensureDevSecrets(root: string, adminToken?: string): Promise<DevSecrets> {
  const path = resolve(root, ".dev.vars");
  const existing = readDevVars(path);
  const fresh = await generateDevSecrets(adminToken ?? existing.ADMIN_TOKEN);
  const merged = { ...fresh, ...existing } as Record<string, string> & DevSecrets;
  if (adminToken) merged.ADMIN_TOKEN = adminToken;
  const changed = (["ADMIN_TOKEN", "TOKEN_KEYS", "VAST_SIGNING_KEY"] as const).some((k) => existing[k] !== merged[k]);
  if (changed) writeDevVars(path, merged);
  return merged;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await ensureDevSecrets(process.cwd(), process.env.ADMIN_TOKEN || undefined);
  console.log("development secrets are in .dev.vars");
}
