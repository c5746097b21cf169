// `gpuctl events`: an endpoint's event log (admin changes, scaling decisions with their reasons, Vast
// calls and their outcomes), oldest first; `--follow` keeps printing new ones until Ctrl-C.
import { z } from "zod";
import { EventList, type AdminEvent } from "../../../core/admin-api.ts";
import type { AdminClient } from "../admin-client.ts";
import { numberFlag } from "../args.ts";
import { endpointArg, maxPositionals, pause, type Command } from "../command.ts";
import { printJson, timestamp, type Io } from "../output.ts";

const PAGE = 200;

/** Events with an id above `after`, oldest first, paging back until the gap is closed. */
async function eventsAfter(client: AdminClient, endpoint: string, after: number): Promise<AdminEvent[]> {
  const out: AdminEvent[] = [];
  let before: number | undefined;
  for (;;) {
    const q = `limit=${PAGE}${before === undefined ? "" : `&before=${before}`}`;
    const { events } = await client.request("GET", `/endpoints/${encodeURIComponent(endpoint)}/events?${q}`, EventList);
    const fresh = events.filter((e) => e.id > after);
    out.push(...fresh);
    if (fresh.length < PAGE || events.length < PAGE) break;
    before = events.at(-1)!.id;
  }
  return out.reverse();
}

function print(io: Io, events: readonly AdminEvent[], json: boolean): void {
  for (const e of events) {
    if (json) io.stdout(`${JSON.stringify(e)}\n`);
    else io.stdout(`${timestamp(e.at)}  ${e.kind.padEnd(5)}  ${e.action.padEnd(16)}  ${e.outcome.padEnd(10)}  ${e.reason}\n`);
  }
}

export const eventCommands: Command[] = [
  {
    name: "events",
    args: "[endpoint]",
    summary: "The event log: scaling decisions and their reasons, Vast calls, admin changes (--follow to tail)",
    options: { limit: { type: "string", short: "n" }, follow: { type: "boolean", short: "f" }, interval: { type: "string" } },
    details: `  --limit N, -n N   the last N events (default 20, at most 1000)
  --follow, -f      keep printing new events until Ctrl-C (with --json: one JSON object per line)
  --interval S      seconds between looks when following (default 2)`,
    async run(ctx, parsed) {
      maxPositionals(parsed, 1, "events");
      const limit = numberFlag(parsed.values, "limit", z.number().int().min(1).max(1000), 20);
      const intervalS = numberFlag(parsed.values, "interval", z.number().min(0.2).max(60), 2);
      const { client, connection } = ctx.connect();
      const endpoint = endpointArg(parsed, connection, "events");
      const { events } = await client.request("GET", `/endpoints/${encodeURIComponent(endpoint)}/events?limit=${limit}`, EventList);
      const json = Boolean(parsed.values.json);
      if (!parsed.values.follow) {
        if (json) return printJson(ctx.io, { events });
        if (events.length === 0) return ctx.io.stdout(`no events for ${endpoint} yet\n`);
        return print(ctx.io, [...events].reverse(), false);
      }
      print(ctx.io, [...events].reverse(), json);
      let last = events[0]?.id ?? 0;
      if (!json) ctx.io.stderr(`following ${endpoint}'s events (Ctrl-C to stop)\n`);
      while (!ctx.signal.aborted) {
        await pause(intervalS * 1000, ctx.signal);
        if (ctx.signal.aborted) break;
        const fresh = await eventsAfter(client, endpoint, last);
        print(ctx.io, fresh, json);
        last = fresh.at(-1)?.id ?? last;
      }
    },
  },
];
