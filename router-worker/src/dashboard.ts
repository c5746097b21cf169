// The operator dashboard: static files (dashboard/public, wrangler's [assets]) served under /dashboard/.
// The page itself is public and holds no data: it asks for the admin token and sends it as a Bearer
// to /api/v1, which is where the data is protected. Strict headers: the page runs only its own scripts.
import { Hono } from "hono";

const PREFIX = "/dashboard";

const HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
};

export const dashboard = new Hono<{ Bindings: Env }>()
  .get("/", (c) => c.redirect(`${PREFIX}/`))
  .get(PREFIX, (c) => c.redirect(`${PREFIX}/`))
  .get(`${PREFIX}/*`, async (c) => {
    const url = new URL(c.req.url);
    url.pathname = url.pathname.slice(PREFIX.length) || "/";
    const asset = await c.env.ASSETS.fetch(new Request(url, { headers: c.req.raw.headers }));
    if (asset.status === 404) return c.json({ error_msg: `no file ${c.req.path}` }, 404);
    const res = new Response(asset.body, asset);
    for (const [k, v] of Object.entries(HEADERS)) res.headers.set(k, v);
    // Asset redirects (e.g. /index.html → /) are relative to the asset root: put the prefix back.
    const location = res.headers.get("location");
    if (location?.startsWith("/")) res.headers.set("location", PREFIX + location);
    return res;
  });
