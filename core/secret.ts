// Secrets we mint (API keys, mtokens) and how we store and compare them. Keys are 256-bit random,
// so a single SHA-256 is a safe stored form; comparisons are over digests, in constant time.

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A fresh secret with a readable prefix (`ek_` endpoint key, `mt_` mtoken, `adm_` admin token). */
export function mintSecret(prefix: string): string {
  return `${prefix}${base64url(crypto.getRandomValues(new Uint8Array(32)))}`;
}

/** A short public id (key ids, worker ids). */
export function mintId(prefix: string): string {
  return `${prefix}${base64url(crypto.getRandomValues(new Uint8Array(9)))}`;
}

/** Hex SHA-256: the only form in which API keys and mtokens are stored. */
export async function hashSecret(secret: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(secret)));
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/** Constant-time equality of two strings of any length (compares their digests). */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  const x = new Uint8Array(da);
  const y = new Uint8Array(db);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
