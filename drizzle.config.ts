import { defineConfig } from "drizzle-kit";

// drizzle generates the SQL; wrangler applies it (`wrangler d1 migrations apply`).
export default defineConfig({
  dialect: "sqlite",
  schema: "./core/db-schema.ts",
  out: "./migrations",
});
