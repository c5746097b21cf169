// What runs "inside" a stand-in instance: a model server and a gpu-agent as child processes on
// loopback ports, with the environment Vast would inject plus the one the scaler asked for.
// Each child leads its own process group, so a signal reaches whatever it spawned (tsx, npx);
// stop sends SIGTERM (the agent drains), destroy and our own exit send SIGKILL: no orphans.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SimInstance } from "./account.ts";

export interface LaunchSettings {
  agentCmd: string;
  modelCmd: string;
  agentEnv: Record<string, string>;
  modelEnv: Record<string, string>;
  logDir?: string | undefined;
}

export type ChildExit = (instanceId: number, which: "agent" | "model", code: number | null, signal: NodeJS.Signals | null) => void;

interface Running {
  agent: ChildProcess | null;
  model: ChildProcess | null;
  /** Set before we signal, so the exit is not reported as a crash. */
  stopping: boolean;
}

/** A free loopback port (bound, read, released: a tiny race, acceptable for a test stand-in). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** Container ports the create request mapped (`"-p 3000:3000": "1"`), else the agent's default. */
export function mappedPorts(env: Record<string, string>): number[] {
  const ports = Object.keys(env).flatMap((k) => {
    const m = /^-p\s+(\d+):(\d+)/.exec(k);
    return m ? [Number(m[2])] : [];
  });
  return ports.length > 0 ? ports : [Number(env.WORKER_PORT ?? 3000)];
}

/** Our own environment minus anything that could carry an account key. */
function baseEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^VAST_(API|SIM)/.test(k)) out[k] = v;
  return out;
}

const split = (cmd: string) => cmd.split(/\s+/).filter(Boolean);

export class ProcessLauncher {
  private readonly running = new Map<number, Running>();
  readonly logDir: string;

  constructor(
    private readonly settings: LaunchSettings,
    private readonly onExit: ChildExit,
  ) {
    this.logDir = settings.logDir ?? mkdtempSync(join(tmpdir(), "vast-sim-"));
    mkdirSync(this.logDir, { recursive: true });
  }

  /** Instances with live children. */
  ids(): number[] {
    return [...this.running.keys()];
  }

  pids(id: number): number[] {
    const r = this.running.get(id);
    return [r?.model?.pid, r?.agent?.pid].filter((p): p is number => p !== undefined);
  }

  /** Starts the model server and the agent; fills `inst.ports` with the host ports. */
  async launch(inst: SimInstance): Promise<void> {
    if (this.running.has(inst.id)) return;
    const slot: Running = { agent: null, model: null, stopping: false };
    this.running.set(inst.id, slot);
    const env = Object.fromEntries(Object.entries(inst.request?.env ?? {}).filter(([k]) => !k.startsWith("-")));
    const container = mappedPorts(inst.request?.env ?? {});
    const [modelPort, ...hostPorts] = await Promise.all([freePort(), ...container.map(() => freePort())]);
    if (slot.stopping) return; // stopped or destroyed while we looked for ports
    const vastEnv: Record<string, string> = { CONTAINER_ID: String(inst.id), PUBLIC_IPADDR: "127.0.0.1" };
    container.forEach((p, i) => {
      inst.ports[String(p)] = hostPorts[i]!;
      vastEnv[`VAST_TCP_PORT_${p}`] = String(hostPorts[i]);
    });
    // On loopback there is no port mapping: the agent listens on the host port itself.
    const agentPort = hostPorts[0]!;
    vastEnv[`VAST_TCP_PORT_${agentPort}`] = String(agentPort);
    const simEnv = Object.fromEntries(Object.entries({ ...this.settings.modelEnv, ...env }).filter(([k]) => k.startsWith("SIM_")));
    slot.model = this.spawn(inst.id, "model", [...split(this.settings.modelCmd), "--port", String(modelPort)], { ...baseEnv(), ...simEnv });
    slot.agent = this.spawn(inst.id, "agent", split(this.settings.agentCmd), {
      ...baseEnv(),
      ...this.settings.agentEnv,
      ...env,
      ...vastEnv,
      WORKER_PORT: String(agentPort),
      LISTEN_HOST: "127.0.0.1",
      BACKEND_URL: `http://127.0.0.1:${modelPort}`,
      GPU_NAME: inst.offer.gpu_name,
      AGENT_CACHE_DIR: join(this.logDir, `cache-${inst.id}`),
    });
  }

  /** SIGTERM (the agent drains), then SIGKILL whatever is left after `graceMs`. */
  async stop(id: number, graceMs = 5000): Promise<void> {
    const r = this.running.get(id);
    if (!r) return;
    r.stopping = true;
    const children = [r.agent, r.model].filter((c): c is ChildProcess => c !== null);
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) {
              this.signal(c, "SIGKILL"); // the leader is gone; its group may not be
              return resolve();
            }
            const timer = setTimeout(() => {
              this.signal(c, "SIGKILL");
              resolve();
            }, graceMs);
            c.once("exit", () => {
              clearTimeout(timer);
              this.signal(c, "SIGKILL"); // the group may hold grandchildren
              resolve();
            });
            this.signal(c, "SIGTERM");
          }),
      ),
    );
    this.running.delete(id);
  }

  kill(id: number): void {
    const r = this.running.get(id);
    if (!r) return;
    r.stopping = true;
    for (const c of [r.agent, r.model]) if (c) this.signal(c, "SIGKILL");
    this.running.delete(id);
  }

  /** Synchronous, for process exit handlers. */
  killAll(): void {
    for (const id of [...this.running.keys()]) this.kill(id);
  }

  private spawn(id: number, which: "agent" | "model", argv: string[], env: Record<string, string>): ChildProcess {
    const [cmd, ...args] = argv;
    const out = openSync(join(this.logDir, `${id}-${which}.log`), "a");
    const child = spawn(cmd!, args, { env, stdio: ["ignore", out, out], detached: true });
    closeSync(out);
    child.on("error", () => this.onExit(id, which, null, null));
    child.on("exit", (code, signal) => {
      const r = this.running.get(id);
      if (r && !r.stopping) this.onExit(id, which, code, signal);
    });
    return child;
  }

  private signal(c: ChildProcess, sig: NodeJS.Signals): void {
    if (c.pid === undefined) return;
    try {
      process.kill(-c.pid, sig);
    } catch {
      // already gone
    }
  }
}
