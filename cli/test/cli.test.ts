// gpuctl against a real router (the router Worker in Miniflare, real D1 and Durable Objects, over
// HTTP): every command's happy path, its refusals with the exit code a script can act on, and that a
// refused command changes nothing.
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EndpointList, EventList, KeyCreated, WorkerGroupList } from "../../core/admin-api.ts";
import { Endpoint } from "../../core/endpoint.ts";
import { generateDevSecrets } from "../../scripts/dev-secrets.ts";
import { applyLocalMigrations, startWorkers, type LocalWorkers } from "../../scripts/local-workers.ts";
import { EXIT } from "../src/cli-error.ts";
import { gpuctl, gpuctlProcess } from "./cli-harness.ts";

const TOKEN = "cli-test-admin-token-0123456789";
let dir: string;
let router: LocalWorkers;
let env: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gpuctl-"));
  await applyLocalMigrations(dir);
  // No hold at /route/: a call with no worker answers at once (these tests never wait for one).
  router = await startWorkers([{ config: "wrangler.toml", vars: { ...(await generateDevSecrets(TOKEN)), ROUTE_HOLD_MS: "0" } }], { stateDir: dir });
  // No local stack file and no saved login: only what each test passes.
  env = { GPUCTL_URL: router.url.origin, GPUCTL_TOKEN: TOKEN, GPUCTL_CONFIG: join(dir, "config.json"), STATE_DIR: join(dir, "no-stack") };
}, 120_000);
afterAll(async () => {
  await router?.dispose();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

let n = 0;
const fresh = () => `cli-${n++}`;

async function endpointNames(): Promise<string[]> {
  const out = await gpuctl(["endpoints", "list", "--json"], env);
  return EndpointList.parse(JSON.parse(out.stdout)).endpoints.map((e) => e.name);
}

async function report(id: string, mtoken: string, fields: Record<string, unknown>): Promise<void> {
  const res = await fetch(new URL("/worker_status/", router.url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id, mtoken, url: "http://10.1.2.3:8000", loadtime: 3, version: "test", gpu_name: "RTX 4090", ...fields }),
  });
  expect(res.status).toBe(200);
}

describe("gpuctl, as a process", () => {
  it("lists its commands with `npx gpuctl --help`", async () => {
    const out = await gpuctlProcess(["--help"], {}, { npx: true });
    expect(out.code).toBe(0);
    for (const c of ["endpoints list", "endpoints create", "groups create", "keys revoke", "workers list", "events", "call", "wait-ready", "login"]) expect(out.stdout).toContain(c);
  }, 60_000);

  it("exits with the code of what went wrong (4: not found), the message on stderr", async () => {
    const out = await gpuctlProcess(["endpoints", "show", "nope"], env);
    expect(out.code).toBe(EXIT.notFound);
    expect(out.stderr).toMatch(/^gpuctl: GET \/endpoints\/nope: no endpoint named 'nope'\n  → /);
    expect(out.stdout).toBe("");
  }, 60_000);
});

describe("exit codes", () => {
  it("3 for a wrong token, 6 for an unreachable router, 2 for bad usage", async () => {
    const denied = await gpuctl(["endpoints", "list"], { ...env, GPUCTL_TOKEN: "wrong" });
    expect(denied.code).toBe(EXIT.auth);
    expect(denied.stderr).toMatch(/admin token/);
    const down = await gpuctl(["endpoints", "list"], { ...env, GPUCTL_URL: "http://127.0.0.1:9" });
    expect(down.code).toBe(EXIT.unreachable);
    expect(down.stderr).toMatch(/cannot reach the router at http:\/\/127\.0\.0\.1:9/);
    expect((await gpuctl(["endpoints", "frobnicate"], env)).code).toBe(EXIT.usage);
    expect((await gpuctl(["endpoints", "list", "--bogus"], env)).code).toBe(EXIT.usage);
    expect((await gpuctl(["events", "x", "--limit", "0"], env)).code).toBe(EXIT.usage);
  });
});

describe("login", () => {
  it("refuses a wrong token without writing anything, saves a good one (owner-only) and uses it", async () => {
    const config = join(dir, "login.json");
    const bare = { GPUCTL_CONFIG: config, STATE_DIR: join(dir, "no-stack") };
    const wrong = await gpuctl(["login", "--url", router.url.origin, "--token", "nope"], bare);
    expect(wrong.code).toBe(EXIT.auth);
    expect(existsSync(config)).toBe(false);
    expect((await gpuctl(["endpoints", "list"], bare)).code).toBe(EXIT.auth);

    const ok = await gpuctl(["login", "--url", `${router.url.origin}/`, "--token", TOKEN], bare);
    expect(ok.code).toBe(0);
    expect(statSync(config).mode & 0o777).toBe(0o600);
    expect((await gpuctl(["endpoints", "list"], bare)).code).toBe(0);
    // A saved token never goes to another URL.
    const elsewhere = await gpuctl(["endpoints", "list", "--url", "http://127.0.0.1:9"], bare);
    expect(elsewhere.code).toBe(EXIT.auth);
    expect(elsewhere.stderr).toMatch(/no admin token for http:\/\/127\.0\.0\.1:9/);

    expect((await gpuctl(["logout"], bare)).code).toBe(0);
    expect(existsSync(config)).toBe(false);
  });

  it("refuses a URL that is not http(s) with a usage error", async () => {
    const out = await gpuctl(["login", "--url", "ftp://x", "--token", TOKEN], { GPUCTL_CONFIG: join(dir, "x.json") });
    expect(out.code).toBe(EXIT.usage);
    expect(out.stderr).toMatch(/--url/);
  });
});

describe("endpoints", () => {
  it("creates, lists, shows, updates and deletes an endpoint", async () => {
    const name = fresh();
    const created = await gpuctl(["endpoints", "create", name, "--max-workers", "3", "--inactivity-timeout", "none", "--json"], env);
    expect(created.code).toBe(0);
    expect(Endpoint.parse(JSON.parse(created.stdout))).toMatchObject({ name, max_workers: 3, inactivity_timeout: null });

    const table = await gpuctl(["endpoints", "list"], env);
    expect(table.stdout).toMatch(new RegExp(`^${name}\\s+active\\s+none\\s+0/0`, "m"));
    expect(table.stdout.split("\n")[0]).toMatch(/NAME\s+STATE\s+WORKERS\s+LOAD\/HOT\s+COLD\s+\$\/H\s+TODAY/);

    expect((await gpuctl(["endpoints", "update", name, "--target-util", "0.5", "--endpoint-state", "suspended"], env)).code).toBe(0);
    const shown = Endpoint.parse(JSON.parse((await gpuctl(["endpoints", "show", name, "--json"], env)).stdout));
    expect(shown).toMatchObject({ target_util: 0.5, endpoint_state: "suspended", max_workers: 3 });

    expect((await gpuctl(["endpoints", "delete", name, "--yes"], env)).code).toBe(0);
    expect(await endpointNames()).not.toContain(name);
  });

  it("refuses bad parameters before calling the router, naming the flag, and creates nothing", async () => {
    const before = await endpointNames();
    for (const args of [["--target-util", "2"], ["--max-workers", "many"], ["--endpoint-state", "asleep"]]) {
      const out = await gpuctl(["endpoints", "create", fresh(), ...args], env);
      expect(out.code).toBe(EXIT.usage);
      expect(out.stderr).toContain(args[0]);
    }
    expect((await gpuctl(["endpoints", "create", "bad name!"], env)).code).toBe(EXIT.usage);
    expect(await endpointNames()).toEqual(before);
  });

  it("answers 5 for a taken name, 4 for an unknown one, and asks for --yes before deleting", async () => {
    const name = fresh();
    expect((await gpuctl(["endpoints", "create", name], env)).code).toBe(0);
    const dup = await gpuctl(["endpoints", "create", name], env);
    expect(dup.code).toBe(EXIT.conflict);
    expect(dup.stderr).toMatch(/exists/);
    expect((await gpuctl(["endpoints", "update", "nope", "--max-workers", "2"], env)).code).toBe(EXIT.notFound);
    expect((await gpuctl(["endpoints", "update", name], env)).code).toBe(EXIT.usage);
    const unconfirmed = await gpuctl(["endpoints", "delete", name], env);
    expect(unconfirmed.code).toBe(EXIT.usage);
    expect(unconfirmed.stderr).toMatch(/--yes/);
    expect(await endpointNames()).toContain(name);
  });
});

describe("worker groups and keys", () => {
  it("creates a worker group from flags named after the API's fields, and lists it", async () => {
    const name = fresh();
    await gpuctl(["endpoints", "create", name], env);
    const out = await gpuctl(
      ["groups", "create", name, "--name", "rtx", "--image", "vllm/vllm-openai:latest", "--gpu-ram", "24", "--search-params", '{"gpu_name":{"eq":"RTX 4090"}}', "--env", "A=1", "--env", "B=x=y"],
      env,
    );
    expect(out.code).toBe(0);
    const { workergroups } = WorkerGroupList.parse(JSON.parse((await gpuctl(["groups", "list", name, "--json"], env)).stdout));
    expect(workergroups).toEqual([expect.objectContaining({ name: "rtx", gpu_ram: 24, env: { A: "1", B: "x=y" }, search_params: { gpu_name: { eq: "RTX 4090" } } })]);
    expect((await gpuctl(["groups", "list", name], env)).stdout).toMatch(/^rtx\s+vllm\/vllm-openai:latest\s+24 GB/m);
    // No image or template: refused, nothing created.
    expect((await gpuctl(["groups", "create", name, "--name", "empty"], env)).code).toBe(EXIT.usage);
    expect((await gpuctl(["groups", "create", name, "--search-params", "{oops"], env)).code).toBe(EXIT.usage);
    expect(WorkerGroupList.parse(JSON.parse((await gpuctl(["groups", "list", name, "--json"], env)).stdout)).workergroups).toHaveLength(1);
  });

  it("mints a key that routes, prints only the key on stdout, and revokes it", async () => {
    const name = fresh();
    await gpuctl(["endpoints", "create", name], env);
    const created = await gpuctl(["keys", "create", name], env);
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^ek_/);
    const id = /key (\S+) for/.exec(created.stderr)![1]!;
    const route = () => fetch(new URL("/route/", router.url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ endpoint: name, api_key: key, cost: 1 }) });
    expect((await route()).status).toBe(200);
    expect((await gpuctl(["keys", "revoke", name, id], env)).code).toBe(0);
    expect((await route()).status).toBe(401);
    expect((await gpuctl(["keys", "revoke", name, id], env)).code).toBe(EXIT.notFound);
    expect(KeyCreated.parse(JSON.parse((await gpuctl(["keys", "create", name, "--json"], env)).stdout)).api_key).toMatch(/^ek_/);
  });
});

describe("workers, events and wait-ready", () => {
  it("shows each worker's state, load, capacity, $/h and last report, joined with the scaler's ledger", async () => {
    const name = fresh();
    await gpuctl(["endpoints", "create", name], env);
    const attach = await fetch(new URL(`/api/v1/endpoints/${name}/workers`, router.url), { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
    const { id, mtoken } = (await attach.json()) as { id: string; mtoken: string };
    await report(id, mtoken, { cur_load: 12, max_perf: 80 });
    // A rented instance that is still being created: the ledger knows it, no report yet.
    const { endpoints } = EndpointList.parse(JSON.parse((await gpuctl(["endpoints", "list", "--json"], env)).stdout));
    const endpointId = endpoints.find((e) => e.name === name)!.id;
    const d1 = await router.d1();
    await d1
      .prepare("INSERT INTO workers (id, endpoint_id, kind, mtoken_hash, status, gpu_name, dph_total, created_at) VALUES (?, ?, 'instance', 'h', 'creating', 'RTX 4090', 0.4, ?)")
      .bind(`${name}-inst`, endpointId, Date.now())
      .run();

    const out = await gpuctl(["workers", "list", name], env);
    expect(out.code).toBe(0);
    const lines = out.stdout.split("\n");
    expect(lines[0]).toMatch(/^ID\s+STATE\s+LOAD\s+CAPACITY\s+\$\/H\s+LAST REPORT\s+GPU\s+INSTANCE/);
    expect(out.stdout).toMatch(new RegExp(`^${id}\\s+ready\\s+12\\s+80\\s+-\\s+\\d+s ago\\s+RTX 4090\\s+manual`, "m"));
    expect(out.stdout).toMatch(new RegExp(`^${name}-inst\\s+creating\\s+0\\s+0\\s+\\$0\\.40/h\\s+never`, "m"));
    expect(out.stdout).toMatch(/1 creating, 1 ready; hot capacity 80 u\/s; \$0\.40\/h now/);

    const json = JSON.parse((await gpuctl(["workers", "list", name, "--json"], env)).stdout) as { workers: { id: string; state: string; dph: number | null }[] };
    expect(json.workers.map((w) => [w.state, w.dph])).toEqual([
      ["creating", 0.4],
      ["ready", null],
    ]);
    expect((await gpuctl(["wait-ready", name, "--timeout", "5"], env)).stdout).toMatch(/can serve: 1 ready, 80 u\/s/);
  });

  it("gives up waiting with exit code 7 and says how to get workers", async () => {
    const name = fresh();
    await gpuctl(["endpoints", "create", name], env);
    const out = await gpuctl(["wait-ready", name, "--timeout", "0.5", "--interval", "0.2"], env);
    expect(out.code).toBe(EXIT.timeout);
    expect(out.stderr).toMatch(/0 ready workers/);
    expect(out.stderr).toMatch(/gpuctl call|--min-load/);
  });

  it("prints the event log oldest first, and --follow prints new events until stopped", async () => {
    const name = fresh();
    await gpuctl(["endpoints", "create", name], env);
    const log = await gpuctl(["events", name], env);
    expect(log.stdout).toMatch(/admin\s+endpoint\.create/);
    expect(EventList.parse(JSON.parse((await gpuctl(["events", name, "--json"], env)).stdout)).events[0]).toMatchObject({ action: "endpoint.create" });

    const stop = new AbortController();
    let minted = false;
    const following = gpuctl(["events", name, "--follow", "--interval", "0.2", "--json"], env, {
      signal: stop.signal,
      onStdout: (all) => {
        if (!minted) {
          minted = true;
          void gpuctl(["keys", "create", name], env);
        }
        if (all.includes('"key.create"')) stop.abort();
      },
    });
    const out = await following;
    expect(out.code).toBe(0);
    const actions = out.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { action: string }).action);
    expect(actions).toEqual(["endpoint.create", "key.create"]);
  });

  it("needs an endpoint when it has no default, and says how to name one", async () => {
    const out = await gpuctl(["workers", "list"], env);
    expect(out.code).toBe(EXIT.usage);
    expect(out.stderr).toMatch(/which endpoint\?/);
  });
});
