// The public keys: Vast's RSA key as SPKI PEM (`/pubkey/`) and our token keys as a JWKS.
import { Hono } from "hono";
import { signers } from "./signing.ts";

export const keys = new Hono<{ Bindings: Env }>()
  .get("/pubkey/", async (c) => {
    const { vast } = await signers(c.env);
    return c.text(vast.publicPem, 200, { "cache-control": "public, max-age=300" });
  })
  .get("/.well-known/jwks.json", async (c) => {
    const { token } = await signers(c.env);
    // Short cache: agents refetch on an unknown kid anyway, so a rotation is picked up at once.
    return c.json(token.jwks, 200, { "cache-control": "public, max-age=60" });
  });
