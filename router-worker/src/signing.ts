// Signing keys, imported once per isolate from the secrets, and the per-URL cache of Vast's
// signature (constant per URL; RSA signing costs ~1 ms, so never once per request).
import { loadTokenSigner, type TokenSigner } from "../../core/token.ts";
import { loadVastSigner, type VastSigner } from "../../core/vast-signature.ts";

export interface Signers {
  token: TokenSigner;
  vast: VastSigner;
}

let loaded: { tokenKeys: string; vastKey: string; signers: Promise<Signers> } | undefined;
const VAST_SIG_CACHE_MAX = 4096;
const vastSigCache = new Map<string, Promise<string>>();

export function signers(env: Env): Promise<Signers> {
  if (loaded && loaded.tokenKeys === env.TOKEN_KEYS && loaded.vastKey === env.VAST_SIGNING_KEY) return loaded.signers;
  const promise = Promise.all([loadTokenSigner(env.TOKEN_KEYS), loadVastSigner(env.VAST_SIGNING_KEY)]).then(
    ([token, vast]) => ({ token, vast }),
  );
  loaded = { tokenKeys: env.TOKEN_KEYS, vastKey: env.VAST_SIGNING_KEY, signers: promise };
  vastSigCache.clear();
  promise.catch(() => {
    if (loaded?.signers === promise) loaded = undefined;
  });
  return promise;
}

export function vastSignature(vast: VastSigner, url: string): Promise<string> {
  let sig = vastSigCache.get(url);
  if (!sig) {
    if (vastSigCache.size >= VAST_SIG_CACHE_MAX) {
      const oldest = vastSigCache.keys().next().value;
      if (oldest !== undefined) vastSigCache.delete(oldest);
    }
    sig = vast.sign(url);
    vastSigCache.set(url, sig);
    sig.catch(() => vastSigCache.delete(url));
  }
  return sig;
}
