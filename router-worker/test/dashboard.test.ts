import { describe, expect, it } from "vitest";
import { call } from "./helpers.ts";

describe("dashboard", () => {
  it("sends a browser from / to the dashboard", async () => {
    for (const path of ["/", "/dashboard"]) {
      const res = await call(path, { redirect: "manual" });
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toBe("/dashboard/");
    }
  });

  it("serves the page with headers that let it run only its own scripts", async () => {
    const res = await call("/dashboard/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await res.text()).toContain('<script type="module" src="build/app.js"></script>');
    expect(res.headers.get("content-security-policy")).toMatch(/script-src 'self'/);
    expect(res.headers.get("content-security-policy")).toMatch(/frame-ancestors 'none'/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("answers 404 for a file that is not there, and keeps the data behind the admin token", async () => {
    expect((await call("/dashboard/nope.js")).status).toBe(404);
    expect((await call("/api/v1/overview")).status).toBe(401);
  });
});
