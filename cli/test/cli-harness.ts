// Running gpuctl in tests: in-process through `main` (fast: the same code the bin runs, with captured
// streams), or as the real bin in a child process where the process boundary itself is under test.
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { main } from "../src/main.ts";

export const ROOT = resolve(import.meta.dirname, "../..");
const BIN = resolve(ROOT, "cli/bin/gpuctl.js");
const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** gpuctl in this process; `onStdout` sees output as it is written (to stop a --follow). */
export async function gpuctl(args: string[], env: Record<string, string>, opts: { signal?: AbortSignal; onStdout?: (all: string) => void } = {}): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    env,
    signal: opts.signal ?? new AbortController().signal,
    io: {
      stdout: (t) => {
        stdout += t;
        opts.onStdout?.(stdout);
      },
      stderr: (t) => void (stderr += t),
      interactive: false,
    },
  });
  return { code, stdout, stderr };
}

/** The real bin, as a shell would run it (`node cli/bin/gpuctl.js`, or `npx gpuctl` with `npx: true`). */
export async function gpuctlProcess(args: string[], env: Record<string, string>, opts: { npx?: boolean } = {}): Promise<CliResult> {
  const [file, argv] = opts.npx ? ["npx", ["--no-install", "gpuctl", ...args]] : [process.execPath, [BIN, ...args]];
  try {
    const { stdout, stderr } = await run(file, argv, { cwd: ROOT, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof err.code !== "number") throw e;
    return { code: err.code, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}
