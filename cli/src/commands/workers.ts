// `gpuctl workers list` and `gpuctl wait-ready`: an endpoint's workers (live reports joined with the
// scaler's rented instances), once as a table, or watched until the endpoint can serve.
import { z } from "zod";
import { InstanceList, LiveWorkerList } from "../../../core/admin-api.ts";
import { countByState, fleetRows, type FleetRow } from "../../../core/fleet-view.ts";
import type { AdminClient } from "../admin-client.ts";
import { numberFlag } from "../args.ts";
import { CliError, EXIT } from "../cli-error.ts";
import { endpointArg, maxPositionals, pause, type Command } from "../command.ts";
import { age, dollars, perHour, printJson, table, units } from "../output.ts";

export interface Fleet {
  rows: FleetRow[];
  cost: InstanceList["cost"];
}

export async function readFleet(client: AdminClient, endpoint: string): Promise<Fleet> {
  const path = `/endpoints/${encodeURIComponent(endpoint)}`;
  const [{ workers }, { instances, cost }] = await Promise.all([client.request("GET", `${path}/workers`, LiveWorkerList), client.request("GET", `${path}/instances`, InstanceList)]);
  return { rows: fleetRows(workers, instances), cost };
}

/** "2 ready, 1 loading" (states with none left out). */
export function statesLine(rows: readonly FleetRow[]): string {
  return (
    Object.entries(countByState(rows))
      .filter(([, n]) => n > 0)
      .map(([state, n]) => `${n} ${state}`)
      .join(", ") || "no workers"
  );
}

const hotCapacity = (rows: readonly FleetRow[]) => rows.reduce((sum, r) => sum + (r.state === "ready" ? r.capacity : 0), 0);

export const workerCommands: Command[] = [
  {
    name: "workers list",
    aliases: ["workers ls"],
    args: "[endpoint]",
    summary: "An endpoint's workers: state, load, capacity, $/h, last report",
    async run(ctx, parsed) {
      maxPositionals(parsed, 1, "workers list");
      const { client, connection } = ctx.connect();
      const endpoint = endpointArg(parsed, connection, "workers list");
      const { rows, cost } = await readFleet(client, endpoint);
      if (parsed.values.json) return printJson(ctx.io, { endpoint, workers: rows.map(({ worker: _w, instance: _i, ...r }) => r), cost });
      if (rows.length > 0) {
        ctx.io.stdout(
          table(
            ["ID", "STATE", "LOAD", "CAPACITY", "$/H", "LAST REPORT", "GPU", "INSTANCE"],
            rows.map((r) => [r.id, r.state, units(r.load), units(r.capacity), perHour(r.dph), r.last_report_s === null ? "never" : `${age(r.last_report_s)} ago`, r.gpu ?? "-", r.vast_instance_id ?? (r.instance ? "-" : "manual")]),
          ),
        );
      }
      ctx.io.stdout(`${endpoint}: ${statesLine(rows)}; hot capacity ${units(hotCapacity(rows))} u/s; ${perHour(cost.dph_now)} now, ${dollars(cost.spent_today)} today\n`);
    },
  },
  {
    name: "wait-ready",
    args: "[endpoint]",
    summary: "Watch workers by state until the endpoint can serve (or --timeout passes)",
    options: { timeout: { type: "string" }, "min-ready": { type: "string" }, interval: { type: "string" } },
    details: `  --timeout S     give up after S seconds (default 300): exit code 7
  --min-ready N   wait for N ready workers (default 1)
  --interval S    seconds between looks (default 1)`,
    async run(ctx, parsed) {
      maxPositionals(parsed, 1, "wait-ready");
      const timeoutS = numberFlag(parsed.values, "timeout", z.number().positive().max(86_400), 300);
      const minReady = numberFlag(parsed.values, "min-ready", z.number().int().min(1).max(10_000), 1);
      const intervalS = numberFlag(parsed.values, "interval", z.number().min(0.1).max(60), 1);
      const { client, connection } = ctx.connect();
      const endpoint = endpointArg(parsed, connection, "wait-ready");
      const started = Date.now();
      let last = "";
      const show = (line: string, final = false) => {
        if (parsed.values.json) return;
        if (ctx.io.interactive) ctx.io.stderr(`\r\x1b[2K${line}${final ? "\n" : ""}`);
        else if (line !== last) ctx.io.stderr(`${line}\n`);
        last = line;
      };
      for (;;) {
        const { rows } = await readFleet(client, endpoint);
        const counts = countByState(rows);
        const elapsed = (Date.now() - started) / 1000;
        const line = `[${elapsed.toFixed(0)}s] ${endpoint}: ${statesLine(rows)} | ready ${counts.ready}/${minReady} | hot ${units(hotCapacity(rows))} u/s`;
        if (counts.ready >= minReady) {
          show(line, true);
          if (parsed.values.json) return printJson(ctx.io, { endpoint, ready: counts.ready, states: counts, hot_capacity: hotCapacity(rows), waited_s: elapsed });
          return ctx.io.stdout(`${endpoint} can serve: ${counts.ready} ready, ${units(hotCapacity(rows))} u/s\n`);
        }
        show(line);
        if (elapsed >= timeoutS) {
          if (ctx.io.interactive) ctx.io.stderr("\n");
          throw new CliError(
            EXIT.timeout,
            `${endpoint} has ${counts.ready} ready worker${counts.ready === 1 ? "" : "s"} after ${timeoutS}s (${statesLine(rows)})`,
            rows.length === 0
              ? `an endpoint scales up when requests arrive: send one with \`gpuctl call ${endpoint} --prompt hi\`, or keep capacity with \`gpuctl endpoints update ${endpoint} --min-load 1\``
              : "workers may still be loading: wait longer with --timeout, or look at `gpuctl events` for why",
          );
        }
        if (ctx.signal.aborted) throw new CliError(EXIT.interrupted, `stopped before ${endpoint} could serve`);
        await pause(intervalS * 1000, ctx.signal);
      }
    },
  },
];
