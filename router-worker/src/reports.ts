// Worker → router: `/worker_status/` and `/delete_requests/`, authenticated by id + mtoken
// (hash compare against D1, cached briefly per isolate), then handed to the endpoint's object.
import { Hono } from "hono";
import { unauthorized, type AppError } from "../../core/app-error.ts";
import { hashSecret, secretsEqual } from "../../core/secret.ts";
import { DeleteRequests, WorkerStatus } from "../../core/wire.ts";
import { database, findWorkerCredential, type WorkerCredential } from "./endpoint-store.ts";
import { endpointCall } from "./endpoint-call.ts";
import type { ReportingWorker } from "./endpoint-object.ts";
import { jsonBody } from "./validation.ts";

const CREDENTIAL_TTL_MS = 30_000;
const credentialCache = new Map<string, { cred: WorkerCredential; at: number }>();

/** The worker's id and endpoint if `mtoken` is its secret; 401 otherwise (nothing else happens). */
export async function authenticateWorker(env: Env, id: string, mtoken: string): Promise<WorkerCredential> {
  const now = Date.now();
  let hit = credentialCache.get(id);
  if (!hit || now - hit.at > CREDENTIAL_TTL_MS) {
    const cred = await findWorkerCredential(database(env.DB), id);
    if (!cred) throw unauthorized(`unknown worker ${id}`);
    hit = { cred, at: now };
    if (credentialCache.size > 10_000) credentialCache.clear();
    credentialCache.set(id, hit);
  }
  if (!(await secretsEqual(await hashSecret(mtoken), hit.cred.mtoken_hash))) throw unauthorized(`wrong mtoken for worker ${id}`);
  return hit.cred;
}

/** Forget a cached credential (the worker was closed). */
export function forgetCredential(id: string): void {
  credentialCache.delete(id);
}

export const reports = new Hono<{ Bindings: Env }>()
  .post("/worker_status/", jsonBody(WorkerStatus), async (c) => {
    const { mtoken, ...status } = c.req.valid("json");
    const cred = await authenticateWorker(c.env, status.id, mtoken);
    // The mtoken stops here: the object stores reports, and a secret is never stored or logged.
    const recorded = await endpointCall(cred.endpoint, () => c.env.ENDPOINTS.getByName(cred.endpoint).report(reporting(cred), status));
    if (!recorded) throw goneEndpoint(cred);
    return c.json({ ok: true });
  })
  .post("/delete_requests/", jsonBody(DeleteRequests), async (c) => {
    const { id, mtoken, request_idxs } = c.req.valid("json");
    const cred = await authenticateWorker(c.env, id, mtoken);
    const deleted = await endpointCall(cred.endpoint, async (): Promise<number | null> => c.env.ENDPOINTS.getByName(cred.endpoint).finish(reporting(cred), request_idxs));
    if (deleted === null) throw goneEndpoint(cred);
    return c.json({ ok: true, deleted });
  });

function reporting(cred: WorkerCredential): ReportingWorker {
  return { id: cred.id, endpoint: cred.endpoint, endpoint_id: cred.endpoint_id, group: cred.group_id === null ? null : String(cred.group_id) };
}

/** A cached credential of a deleted endpoint whose name was taken again: refused, and dropped from the cache. */
function goneEndpoint(cred: WorkerCredential): AppError {
  forgetCredential(cred.id);
  return unauthorized(`worker ${cred.id} belongs to a deleted endpoint`);
}
