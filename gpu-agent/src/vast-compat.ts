// Vast compatibility mode (off by default): accept Vast's RSA `signature` instead of our token, as
// stock PyWorker does. The signature covers only the worker URL, never expires and is the same for
// every request, so it proves only that the router once chose this worker. Kept for clients and
// routers that do not send tokens yet; the replay guard still applies to the (unsigned) reqnum.
import { verifyVastSignature } from "../../core/vast-signature.ts";

const FETCH_TIMEOUT_MS = 5_000;
const PEM = /^-----BEGIN PUBLIC KEY-----\s+[A-Za-z0-9+/=\s]+-----END PUBLIC KEY-----\s*$/;

export class VastPubkey {
  private pem: string | null = null;
  /** The one signature that verified for our URL: constant per URL, so later checks are a string compare. */
  private good: { url: string; signature: string } | null = null;

  constructor(private readonly routerUrl: string) {}

  get loaded(): boolean {
    return this.pem !== null;
  }

  async fetch(): Promise<void> {
    const res = await fetch(`${this.routerUrl}/pubkey/`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`the router answered ${res.status} for /pubkey/`);
    const text = await res.text();
    if (!PEM.test(text)) throw new Error("the router's /pubkey/ is not an SPKI PEM");
    if (text !== this.pem) this.good = null;
    this.pem = text;
  }

  async check(url: string, signature: string): Promise<boolean> {
    if (!this.pem) return false;
    if (this.good && this.good.url === url && this.good.signature === signature) return true;
    const ok = await verifyVastSignature(this.pem, url, signature);
    if (ok) this.good = { url, signature };
    return ok;
  }
}
