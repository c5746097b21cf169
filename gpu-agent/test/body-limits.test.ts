// MAX_BODY_BYTES on both HTTP front ends, for a declared length and for a chunked body that never says
// how long it is: 413 in the {code, message} shape, the model server sees nothing, and the agent stops
// reading early. An endless chunked body is how a client would make an agent buffer itself out of
// memory, so the test offers far more than the limit and counts how much the agent took in.
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "./harness.ts";

const LIMIT = 64 * 1024;
/** What the client offers: 1,000 times the limit. */
const OFFERED = 1000 * LIMIT;

interface Outcome {
  status: number;
  body: string;
  /** Bytes written into the socket before the answer came (socket buffers hold a few MB at most). */
  sent: number;
}

/** Streams up to OFFERED bytes of JSON-ish padding, chunked, and stops writing once the answer is in. */
function endlessBody(origin: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const u = new URL("/v1/completions", origin);
    let sent = 0;
    let answered = false;
    const chunk = Buffer.alloc(16 * 1024, "x");
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers: { "content-type": "application/json", connection: "close" }, agent: false }, (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString("utf8"), sent }));
    });
    req.on("error", (e) => (answered ? undefined : reject(e)));
    const pump = () => {
      while (!answered && sent < OFFERED) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      if (!answered) req.end();
    };
    req.write('{"auth_data":{},"payload":"');
    pump();
  });
}

for (const stackName of ["node", "hono"] as const) {
  describe(`MAX_BODY_BYTES on the ${stackName} front end`, () => {
    let s: Stack;
    beforeAll(async () => {
      s = await startStack({ env: { HTTP_STACK: stackName, MAX_BODY_BYTES: String(LIMIT) } });
    });
    afterAll(async () => s?.close());

    it("413 for a declared length over the limit, and the model server sees nothing", async () => {
      const before = s.simStats().received;
      const res = await s.call("/v1/completions", { prompt: "x".repeat(LIMIT), max_tokens: 1 });
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({ code: "payload_too_large", message: expect.any(String) });
      expect(s.simStats().received).toBe(before);
    });

    it("413 for an endless chunked body, answered long before the body ends", async () => {
      const before = s.simStats().received;
      const out = await endlessBody(s.agent.localUrl);
      expect(out.status).toBe(413);
      expect(JSON.parse(out.body)).toEqual({ code: "payload_too_large", message: expect.any(String) });
      // Far less than was offered: the agent stopped reading near the limit (socket buffers aside).
      expect(out.sent).toBeLessThan(OFFERED / 4);
      expect(s.simStats().received).toBe(before);
      // And it still serves.
      expect((await s.call("/v1/completions", { prompt: "after", max_tokens: 2 })).status).toBe(200);
    }, 60_000);
  });
}
