// Is the model server up? Health polling and/or the load line in its log (MODEL_LOG), as PyWorker
// watches vLLM and TGI. An error line means broken: the agent reports it as `error_msg`. After the
// model is up, the watch goes on (slower), so a crash later is reported rather than served as 502s.
import { open } from "node:fs/promises";
import { sleep } from "./backoff.ts";
import type { Backend } from "./backend.ts";

const MAX_LINE = 16 * 1024;

/** Follows a growing file by polling (fs.watch misses writes on some container filesystems). */
export class LogTail {
  private offset = 0;
  private carry = "";

  constructor(readonly path: string) {}

  /** The complete lines appended since the last call; none while the file does not exist. */
  async poll(): Promise<string[]> {
    let file;
    try {
      file = await open(this.path, "r");
    } catch {
      return [];
    }
    try {
      const { size } = await file.stat();
      if (size < this.offset) {
        // Truncated or replaced (the model server restarted): read it again from the start.
        this.offset = 0;
        this.carry = "";
      }
      if (size === this.offset) return [];
      const buf = Buffer.alloc(Math.min(size - this.offset, 4 * 1024 * 1024));
      const { bytesRead } = await file.read(buf, 0, buf.length, this.offset);
      this.offset += bytesRead;
      const text = this.carry + buf.subarray(0, bytesRead).toString("utf8");
      const lines = text.split("\n");
      this.carry = (lines.pop() ?? "").slice(-MAX_LINE);
      return lines.map((l) => l.replace(/\r$/, ""));
    } finally {
      await file.close();
    }
  }
}

export class ModelBroken extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelBroken";
  }
}

export interface WatchOptions {
  backend: Backend;
  healthPath: string | null;
  logPath: string | null;
  loadMsg: string;
  errorMsgs: string[];
  /** Poll period while loading. */
  pollMs: number;
  /** Health probe period once loaded. */
  healthEveryMs: number;
}

export class ModelWatch {
  private tail: LogTail | null;

  constructor(private readonly opts: WatchOptions) {
    this.tail = opts.logPath ? new LogTail(opts.logPath) : null;
  }

  async probe(): Promise<boolean> {
    if (!this.opts.healthPath) return true;
    try {
      const res = await this.opts.backend.request({ method: "GET", path: this.opts.healthPath, signal: AbortSignal.timeout(3_000) });
      await res.body.dump();
      return res.statusCode === 200;
    } catch {
      return false;
    }
  }

  /**
   * New log lines, the last of them deciding: an error line (`error`), or a load line after it (the
   * model server started again: `loaded`, no error).
   */
  private async readLog(): Promise<{ loaded: boolean; error: string | null }> {
    let loaded = false;
    let error: string | null = null;
    for (const line of (await this.tail?.poll()) ?? []) {
      if (this.opts.errorMsgs.some((m) => line.includes(m))) {
        error = `model server log: ${line.trim().slice(0, 300)}`;
        loaded = false;
      } else if (line.includes(this.opts.loadMsg)) {
        loaded = true;
        error = null;
      }
    }
    return { loaded, error };
  }

  /** Resolves once the model server is up; rejects with ModelBroken on an error line. */
  async waitLoaded(signal: AbortSignal): Promise<void> {
    let logSaysLoaded = this.tail === null;
    let healthy = false;
    while (!signal.aborted) {
      if (this.tail) {
        const log = await this.readLog();
        if (log.error) throw new ModelBroken(log.error);
        if (log.loaded) logSaysLoaded = true;
      }
      if (!healthy) healthy = await this.probe();
      if (logSaysLoaded && healthy) return;
      await sleep(this.opts.pollMs, signal);
    }
  }

  /**
   * After load: keeps reading the log and probing health; calls `onChange` with an error message or
   * null. An error line lasts until the log shows the load line again (the model server was started
   * again, by a supervisor or by hand); three failed probes in a row last until a probe succeeds.
   */
  async watch(signal: AbortSignal, onChange: (error: string | null) => void): Promise<void> {
    let failures = 0;
    let logError: string | null = null;
    let lastProbe = performance.now();
    while (!signal.aborted) {
      await sleep(this.opts.pollMs, signal);
      const log = await this.readLog();
      if (log.error) {
        logError = log.error;
        onChange(log.error);
      } else if (log.loaded && logError !== null) {
        logError = null;
        if (failures < 3) onChange(null);
      }
      if (!this.opts.healthPath || performance.now() - lastProbe < this.opts.healthEveryMs) continue;
      lastProbe = performance.now();
      if (await this.probe()) {
        if (failures >= 3 && logError === null) onChange(null);
        failures = 0;
      } else if (++failures === 3) {
        onChange(`model server not answering ${this.opts.healthPath}`);
      }
    }
  }
}
