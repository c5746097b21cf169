// What a new instance is rented with: the group's image or template, its disk and launch arguments,
// its env, plus what the agent needs to find and prove itself to the router (WORKER_ID, MASTER_TOKEN
// minted for this worker, ENDPOINT, REPORT_ADDR, WORKER_PORT) and the port mapping. The group's env
// cannot override those. The label carries the ledger id, so a lost answer can be repaired.
import { instanceLabel, type CreateInstanceRequest } from "../../core/vast-api.ts";
import type { ScalerConfig } from "./config.ts";
import type { EndpointRow, GroupRow } from "./ledger-store.ts";

/** Splits launch arguments like a shell would for simple cases (quotes group words; no escapes). */
export function splitArgs(s: string): string[] {
  const out: string[] = [];
  for (const m of s.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3] ?? "");
  return out;
}

export function createRequest(cfg: ScalerConfig, endpoint: EndpointRow, group: GroupRow, workerId: string, mtoken: string): CreateInstanceRequest {
  const port = cfg.WORKER_PORT;
  const env: Record<string, string> = {
    ...group.env,
    WORKER_ID: workerId,
    MASTER_TOKEN: mtoken,
    ENDPOINT: endpoint.name,
    REPORT_ADDR: cfg.REPORT_ADDR,
    WORKER_PORT: String(port),
    MAX_QUEUE_TIME: String(endpoint.params.max_queue_time),
    [`-p ${port}:${port}`]: "1",
  };
  const req: CreateInstanceRequest = {
    client_id: "me",
    env,
    disk: group.disk,
    label: instanceLabel(cfg.INSTANCE_LABEL_PREFIX, workerId),
  };
  if (group.templateHash) req.template_hash_id = group.templateHash;
  if (group.image) req.image = group.image;
  if (group.launchArgs) {
    req.runtype = "args";
    req.args = splitArgs(group.launchArgs);
  }
  return req;
}
