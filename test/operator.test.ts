// The operator's tools on the whole local stack (router and scaler in workerd, the stand-in Vast with
// real agents), as `npm start` sets it up: the dashboard in headless Chromium watching the demo endpoint
// scale up under the demo client, and gpuctl finding the stack by itself. Leaves a screenshot in
// test-artifacts/dashboard.png.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeStackInfo } from "../demo/stack-info.ts";
import { DEMO_GROUP, ensureDemoEndpoint } from "../scripts/demo-endpoint.ts";
import { GroupMetrics } from "../core/group-metrics.ts";
import { gpuctl, gpuctlProcess } from "../cli/test/cli-harness.ts";
import { testStack, type TestStack } from "./e2e/stack.ts";

const ROOT = resolve(import.meta.dirname, "..");
const CHROMIUM = "/usr/bin/chromium";
export const ARTIFACTS = resolve(ROOT, "test-artifacts");

let stack: TestStack;
let browser: Browser;
let page: Page;
let demo: { endpoint: string; apiKey: string };
const pageErrors: string[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`the dashboard test needs Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (as root; .ci/run does this)`);
  }
  stack = await testStack();
  demo = await ensureDemoEndpoint(stack.admin, stack.stateDir, stack.url.origin);
  // What `npm start` writes: gpuctl and the demo client find the stack through it.
  writeStackInfo(stack.stateDir, { router: stack.url.origin, endpoint: demo.endpoint, api_key: demo.apiKey, admin_token: stack.secrets.ADMIN_TOKEN });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && pageErrors.push(m.text()));
}, 180_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  await browser?.close();
  await stack?.close();
}, 60_000);

/** The CLI's environment on the local stack: only where the stack's file is, nothing else. */
const stackEnv = () => ({ STATE_DIR: stack.stateDir, GPUCTL_CONFIG: resolve(stack.stateDir, "no-login.json") });

function runDemoClient(): Promise<number> {
  const child = spawn(process.execPath, ["--import", "tsx", "demo/index.ts"], {
    cwd: ROOT,
    env: { ...process.env, ROUTER_URL: stack.url.origin, ENDPOINT: demo.endpoint, API_KEY: demo.apiKey, ADMIN_TOKEN: stack.secrets.ADMIN_TOKEN, DEMO_REQUESTS: "30", DEMO_CONCURRENCY: "6", DEMO_MAX_TOKENS: "48" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(child);
  return new Promise((done) => child.on("exit", (code) => done(code ?? 1)));
}

const text = async (testid: string) => (await page.getByTestId(testid).locator(".card-value").textContent()) ?? "";

describe("the dashboard in Chromium", () => {
  it("asks for the admin token and refuses a wrong one", async () => {
    await page.goto(`${stack.url.origin}/`);
    expect(new URL(page.url()).pathname).toBe("/dashboard/");
    await page.getByLabel("Admin token").fill("not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("That token was refused.").waitFor();
    expect(await page.locator("#app").isHidden()).toBe(true);
  });

  it("shows the demo endpoint scaling up from zero under the demo client, live", async () => {
    // The refused sign-in above logs its 401 in the console; from here on, nothing may.
    pageErrors.length = 0;
    await page.getByLabel("Admin token").fill(stack.secrets.ADMIN_TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator(`[data-testid=endpoint-row][data-name="${demo.endpoint}"]`).waitFor();
    expect(await page.getByTestId("detail-title").textContent()).toBe(demo.endpoint);
    expect(await text("ready-count")).toBe("0");

    const client = runDemoClient();
    // The cron trigger, as `npm start` fires it: scale-now rents the first worker, the passes the rest.
    const cron = setInterval(() => void stack.scaled().catch(() => undefined), 3000);
    try {
      // The page refreshes by itself: no reload from here on.
      await page.waitForFunction(() => Number(document.querySelector("[data-testid=ready-count] .card-value")?.textContent) >= 1, null, { timeout: 120_000 });
      await page.locator("[data-testid=worker-row][data-state=ready]").first().waitFor();
      expect(await client).toBe(0);
      await stack.scaled();
      await page.locator("[data-testid=event][data-action=create]").first().waitFor({ timeout: 30_000 });
    } finally {
      clearInterval(cron);
    }
    // Load, capacity and cost as the cards and the chart show them.
    expect(await text("card-load")).toMatch(/^[\d.]+ \/ [1-9][\d.]* u\/s$/);
    expect(await text("card-dph")).toMatch(/^\$0\.[1-9]\d$/);
    expect(await page.locator("[data-testid=chart] .uplot canvas").count()).toBeGreaterThan(0);
    expect(await page.locator("[data-testid=chart] .u-legend").textContent()).toMatch(/hot capacity/);
    // A worker's detail.
    const row = page.locator("[data-testid=worker-row][data-state=ready]").first();
    const id = await row.getAttribute("data-id");
    await row.click();
    await page.locator(`[data-testid=worker-detail][data-id="${id}"]`).waitFor();
    expect(await page.getByTestId("worker-detail").textContent()).toMatch(/measured capacity[\d.]+ u\/s/);
    // A scaling event says why.
    expect(await page.locator("[data-testid=event][data-action=decide] .event-reason").first().textContent()).toMatch(/predicted .* target/);

    // The last ten minutes, where this test's history is.
    await page.getByRole("button", { name: "last 10 min" }).click();
    await page.waitForFunction(() => document.querySelector("[data-window='600']")?.getAttribute("aria-pressed") === "true");
    await page.locator("[data-testid=chart] .uplot").waitFor();
    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = resolve(ARTIFACTS, "dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(20_000);
    expect(pageErrors).toEqual([]);
  }, 180_000);
});

describe("per-group metrics after the demo run", () => {
  it("answers with requests, workload, realised share, queue wait, max_perf per GPU, $/h and workload per dollar", async () => {
    const res = await stack.admin.call("GET", `/endpoints/${demo.endpoint}/workergroups/${DEMO_GROUP.name}/metrics`);
    expect(res.status).toBe(200);
    const m = GroupMetrics.parse(await res.json());
    // The demo client's 30 requests all went to the endpoint's only group.
    expect(m).toMatchObject({ endpoint: demo.endpoint, group: DEMO_GROUP.name, role: "primary", realised_share: 1 });
    expect(m.requests).toBeGreaterThanOrEqual(30);
    expect(m.workload_served).toBeGreaterThan(0);
    expect(m.queue_wait_p50_s).not.toBeNull();
    expect(m.queue_wait_p99_s!).toBeGreaterThanOrEqual(m.queue_wait_p50_s!);
    expect(m.max_perf_by_gpu["RTX 4090"]).toBeGreaterThan(0);
    expect(m.dph_now).toBeGreaterThan(0);
    expect(m.workload_per_dollar).toBeGreaterThan(0);
  });
});

describe("gpuctl on the local stack", () => {
  it("finds the stack by itself: `npx gpuctl endpoints list` and `workers list` show the demo endpoint", async () => {
    const list = await gpuctlProcess(["endpoints", "list"], stackEnv(), { npx: true });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${demo.endpoint}\\s+active\\s+`, "m"));
    const workers = await gpuctlProcess(["workers", "list"], stackEnv(), { npx: true });
    expect(workers.code).toBe(0);
    expect(workers.stdout).toMatch(/^ID\s+STATE\s+LOAD\s+CAPACITY\s+\$\/H\s+LAST REPORT/);
    // Rented by the scaler: a price from the ledger beside the live report.
    expect(workers.stdout).toMatch(/\s(ready|stopped)\s+[\d.]+\s+[\d.]+\s+\$0\.\d\d\/h/);
    expect(workers.stdout).toContain(`${demo.endpoint}: `);
  }, 60_000);

  it("waits until the endpoint can serve, then streams one call's answer", async () => {
    const ready = await gpuctl(["wait-ready", "--timeout", "60"], stackEnv());
    expect(ready.code).toBe(0);
    expect(ready.stdout).toMatch(new RegExp(`^${demo.endpoint} can serve: \\d+ ready`));
    const chunks: string[] = [];
    const call = await gpuctl(["call", "--prompt", "hello from the CLI", "--max-tokens", "12", "--timeout", "60"], stackEnv(), { onStdout: (all) => chunks.push(all) });
    expect(call.code).toBe(0);
    expect(call.stderr).toMatch(/routed to http/);
    // Streamed: the text arrived in pieces, as the model produced it.
    expect(chunks.length).toBeGreaterThan(2);
    expect(call.stdout.trim().length).toBeGreaterThan(0);
  }, 120_000);
});
