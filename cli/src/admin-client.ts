// The admin API from the CLI: Bearer token, JSON bodies, every answer parsed by the zod schema the
// router answers with (core/admin-api.ts), and every failure turned into a CliError that says what to do.
import { z } from "zod";
import { ApiError } from "../../core/admin-api.ts";
import { CliError, EXIT, type ExitCode } from "./cli-error.ts";

export interface AdminClient {
  readonly url: string;
  request<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown): Promise<z.output<S>>;
}

const STATUS_EXIT: Record<number, ExitCode> = { 400: EXIT.usage, 401: EXIT.auth, 403: EXIT.auth, 404: EXIT.notFound, 409: EXIT.conflict, 413: EXIT.usage, 415: EXIT.usage };

function hintFor(status: number, url: string): string | undefined {
  if (status === 401 || status === 403) return `check the admin token for ${url} (--token, GPUCTL_TOKEN or \`gpuctl login\`)`;
  if (status === 404) return "see what exists with `gpuctl endpoints list` (and `gpuctl groups list <endpoint>`)";
  if (status === 409) return "pick another name, or change the existing one with `update`";
  if (status >= 500) return "the router failed; try again, and look at its log if it persists";
  return undefined;
}

/** A connection failure's cause, in words (fetch wraps it: ECONNREFUSED, ENOTFOUND, timeouts). */
function networkCause(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
}

export function adminClient(url: string, token: string, timeoutMs = 30_000): AdminClient {
  return {
    url,
    async request(method, path, schema, body) {
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: "application/json" };
      if (body !== undefined) headers["content-type"] = "application/json";
      let res: Response;
      try {
        res = await fetch(`${url}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
      } catch (e) {
        throw new CliError(EXIT.unreachable, `cannot reach the router at ${url} (${networkCause(e)})`, "is it running? Check the URL (--url, GPUCTL_URL or `gpuctl login`); locally, start it with `npm start`");
      }
      const text = await res.text();
      let json: unknown;
      try {
        json = text === "" ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (!res.ok) {
        const err = ApiError.safeParse(json);
        const message = err.success ? err.data.message : `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ""}`;
        throw new CliError(STATUS_EXIT[res.status] ?? EXIT.failed, `${method} ${path}: ${message}`, hintFor(res.status, url));
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        throw new CliError(
          EXIT.failed,
          `${method} ${path}: the router's answer is not what this CLI expects (${parsed.error.issues[0]?.path.join(".") || "body"}: ${parsed.error.issues[0]?.message})`,
          "the router and this CLI may be from different versions: update the one that is older",
        );
      }
      return parsed.data;
    },
  };
}
