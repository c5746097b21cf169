// The launch contract: a running instance gets a model server and an agent as child processes with
// the env Vast injects plus the env the scaler asked for; stop stops them, start relaunches them,
// destroy and close kill them, and an agent that dies makes the instance "exited". No orphans.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { VastSimOptions } from "../options.ts";
import { startVastSim, type VastSim } from "../server.ts";

const FAKE = `${process.execPath} --import tsx ${resolve(import.meta.dirname, "fake-agent.ts")}`;

let sim: VastSim | undefined;
let router: Server | undefined;
const reports: { id: string; pid: number; env: Record<string, string> }[] = [];

afterEach(async () => {
  await sim?.close();
  sim = undefined;
  await new Promise<void>((r) => (router ? router.close(() => r()) : r()));
  router = undefined;
  reports.length = 0;
});

/** A router stand-in that records what agents report. */
async function startRouter(): Promise<string> {
  router = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (req.url === "/worker_status/") reports.push(JSON.parse(body));
      res.end("{}");
    });
  });
  await new Promise<void>((r) => router!.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(router.address() as AddressInfo).port}`;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(ok: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${sim!.apiUrl}${path}`, {
    method,
    headers: { authorization: "Bearer sim-key", "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.json();
}

describe("stand-in Vast: processes per instance", () => {
  it("launches, stops, relaunches and kills an instance's agent and model server", async () => {
    const reportAddr = await startRouter();
    sim = await startVastSim(
      VastSimOptions.parse({ rate: 0, agentCmd: FAKE, modelCmd: FAKE, faults: { scheduleMs: 10, loadMs: 10, startMs: 10, stopMs: 10 } }),
    );
    const env = { WORKER_ID: "w_proc", MASTER_TOKEN: "mt_x", ENDPOINT: "ep", REPORT_ADDR: reportAddr, WORKER_PORT: "3000", GROUP_VAR: "g", "-p 3000:3000": "1" };
    const { new_contract: id } = await api("PUT", "/asks/31000000/", { client_id: "me", image: "img", env, disk: 10, label: "egs:w_proc" });

    await until(() => reports.length === 1, "the agent's report");
    const r = reports[0]!;
    const hostPort = sim.account.instances.get(id)!.ports["3000"]!;
    expect(r.env).toMatchObject({
      WORKER_ID: "w_proc",
      MASTER_TOKEN: "mt_x",
      ENDPOINT: "ep",
      GROUP_VAR: "g",
      CONTAINER_ID: String(id),
      PUBLIC_IPADDR: "127.0.0.1",
      VAST_TCP_PORT_3000: String(hostPort),
      WORKER_PORT: String(hostPort),
      GPU_NAME: "RTX 3090",
    });
    expect(r.env.BACKEND_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Object.keys(r.env).some((k) => k.startsWith("VAST_API") || k.startsWith("VAST_SIM"))).toBe(false);
    // The agent really listens where Vast says it is reachable, and so does the model server.
    expect((await (await fetch(`http://127.0.0.1:${hostPort}/`)).json()).pid).toBe(r.pid);
    // The model server starts alongside the agent (the real agent waits for it); give it a moment.
    let backend = 0;
    for (let i = 0; i < 400 && backend !== 200; i++) {
      backend = await fetch(r.env.BACKEND_URL!).then((res) => res.status, () => 0);
      if (backend !== 200) await new Promise((res) => setTimeout(res, 25));
    }
    expect(backend).toBe(200);
    const first = sim.launcher!.pids(id);
    expect(first).toHaveLength(2);

    await api("PUT", `/instances/${id}/`, { state: "stopped" });
    await until(() => first.every((p) => !alive(p)), "stopped processes to exit");

    await api("PUT", `/instances/${id}/`, { state: "running" });
    await until(() => reports.length === 2, "the relaunched agent's report");
    const second = sim.launcher!.pids(id);
    expect(second.every(alive)).toBe(true);

    await api("DELETE", `/instances/${id}/`);
    await until(() => second.every((p) => !alive(p)), "destroyed processes to die");
  }, 30_000);

  it("marks the instance exited when its agent dies, and kills everything on close", async () => {
    const reportAddr = await startRouter();
    sim = await startVastSim(VastSimOptions.parse({ rate: 0, agentCmd: FAKE, modelCmd: FAKE, faults: { scheduleMs: 10, loadMs: 10 } }));
    const env = { WORKER_ID: "w_a", MASTER_TOKEN: "m", ENDPOINT: "ep", REPORT_ADDR: reportAddr };
    const a = (await api("PUT", "/asks/31000000/", { client_id: "me", image: "i", env, disk: 10, label: "egs:w_a" })).new_contract;
    const b = (await api("PUT", "/asks/31000001/", { client_id: "me", image: "i", env: { ...env, WORKER_ID: "w_b" }, disk: 10, label: "egs:w_b" })).new_contract;
    await until(() => reports.length === 2, "two reports");

    const [, agentA] = sim.launcher!.pids(a);
    process.kill(agentA!, "SIGKILL");
    await until(() => sim!.account.instances.get(a)?.phase === "exited", "instance a to exit");
    const listed = (await api("GET", "/instances/?owner=me")).instances.find((i: any) => i.id === a);
    expect(listed.actual_status).toBe("exited");

    const pidsB = sim.launcher!.pids(b);
    await sim.close();
    sim = undefined;
    await until(() => pidsB.every((p) => !alive(p)), "b's processes to die on close");
  }, 30_000);
});
