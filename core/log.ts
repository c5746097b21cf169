// One log line = one JSON object, so Workers Logs and `jq` can filter by field.
// Never pass a secret (API key, mtoken, token, private key) as a field: callers log ids and hashes' prefixes only.

export type LogLevel = "debug" | "info" | "warn" | "error";

export function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ level, msg, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
