// Who may use this worker: the body must be `{auth_data, payload}` (422 naming what is missing) and
// `auth_data.token` must be the router's token for this worker, this endpoint and a reqnum not seen
// before (401 otherwise, whatever the reason: the client learns nothing about which check failed).
import { z } from "zod";
import { AppError, unauthorized } from "../../core/app-error.ts";
import { TOKEN_MAX_LIFETIME_S, type TokenClaims } from "../../core/token.ts";
import { WorkerCall } from "../../core/wire.ts";
import type { ReplayGuard } from "./replay-guard.ts";
import type { TokenKeys } from "./token-keys.ts";
import type { VastPubkey } from "./vast-compat.ts";

/** What the router granted, from the signed claims (the plain copies in auth_data must match them). */
export interface Grant {
  reqnum: number;
  requestIdx: number;
  cost: number;
  via: "token" | "signature";
}

export interface AuthSettings {
  /** This worker's advertised URL (the token audience); known once the server listens. */
  audience: () => string;
  endpoint: string;
  skewS: number;
  nowS: () => number;
}

/** Far longer than any token the router issues (a few hundred characters): refused before any decoding. */
export const TOKEN_MAX_CHARS = 4096;

/**
 * The first field of `auth_data` whose plain copy differs from the signed claims, if any. Clients send
 * the /route/ answer unchanged, so a difference can only be tampering: refuse it rather than serve what
 * the token says while the body says something else.
 */
function tampered(a: WorkerCall["auth_data"], c: TokenClaims): string | null {
  if (a.url !== c.aud) return "url";
  if (a.endpoint !== c.endpoint) return "endpoint";
  if (a.reqnum !== c.reqnum) return "reqnum";
  if (a.request_idx !== c.request_idx) return "request_idx";
  if (a.cost !== c.cost) return "cost";
  return null;
}

function describe(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join(".") || "body";
  return issue.code === "invalid_type" && /received undefined/.test(issue.message) ? `${path} is required` : `${path}: ${issue.message}`;
}

export class RequestAuth {
  constructor(
    private readonly keys: TokenKeys,
    private readonly guard: ReplayGuard,
    private readonly settings: AuthSettings,
    private readonly vast: VastPubkey | null,
  ) {}

  /** The body's shape, or 422 naming the first fields that are missing or wrong. */
  parseCall(body: unknown): WorkerCall {
    const parsed = WorkerCall.safeParse(body);
    if (!parsed.success) {
      const problems = parsed.error.issues.slice(0, 3).map(describe);
      throw new AppError(422, "invalid_body", problems.join("; "), parsed.error.issues);
    }
    const { auth_data } = parsed.data;
    if (auth_data.token === undefined && !(this.vast && auth_data.signature !== undefined)) {
      throw new AppError(422, "invalid_body", this.vast ? "auth_data.token (or auth_data.signature) is required" : "auth_data.token is required");
    }
    return parsed.data;
  }

  async authorize(call: WorkerCall): Promise<Grant> {
    const { auth_data } = call;
    const nowS = this.settings.nowS();
    if (auth_data.token !== undefined) {
      // An oversized token is a bad token (401), like any other that fails a check.
      if (auth_data.token.length > TOKEN_MAX_CHARS) throw unauthorized(`token of ${auth_data.token.length} characters`);
      let claims;
      try {
        claims = await this.keys.verify(auth_data.token, {
          audience: this.settings.audience(),
          endpoint: this.settings.endpoint,
          nowS,
          skewS: this.settings.skewS,
        });
      } catch (e) {
        throw unauthorized(`token refused: ${(e as Error).message}`);
      }
      // Before the guard: a tampered copy does not spend the reqnum of the genuine answer it was made from.
      const field = tampered(auth_data, claims);
      if (field) throw unauthorized(`auth_data.${field} differs from the token`);
      // The guard runs after the await, in the same synchronous block as the caller's admission.
      const verdict = this.guard.admit(claims.reqnum, claims.iat + this.settings.skewS, claims.exp + this.settings.skewS, this.settings.nowS());
      if (verdict !== "fresh") throw unauthorized(`reqnum ${claims.reqnum}: ${verdict}`);
      return { reqnum: claims.reqnum, requestIdx: claims.request_idx, cost: claims.cost, via: "token" };
    }
    // Vast compatibility: only the URL is signed.
    if (!this.vast || auth_data.signature === undefined) throw unauthorized("no token");
    if (auth_data.url.replace(/\/+$/, "") !== this.settings.audience()) throw unauthorized("signature for another worker url");
    if (!(await this.vast.check(auth_data.url, auth_data.signature))) throw unauthorized("bad Vast signature");
    const now = this.settings.nowS();
    const verdict = this.guard.admit(auth_data.reqnum, now, now + TOKEN_MAX_LIFETIME_S, now);
    if (verdict !== "fresh") throw unauthorized(`reqnum ${auth_data.reqnum}: ${verdict}`);
    return { reqnum: auth_data.reqnum, requestIdx: auth_data.request_idx, cost: auth_data.cost, via: "signature" };
  }
}
