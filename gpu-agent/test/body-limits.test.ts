// MAX_BODY_BYTES on both HTTP front ends, for a declared length and for a chunked body that never says
// how long it is: 413 in the {code, message} shape, the model server sees nothing, and the agent stops
// reading early. An endless chunked body is how a client would make an agent buffer itself out of
// memory, so the test offers far more than the limit and counts how much the agent took in.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendEndless } from "../../test/fuzz/body.ts";
import { startStack, type Stack } from "./harness.ts";

const LIMIT = 64 * 1024;
/** What the client offers: 1,000 times the limit. */
const OFFERED = 1000 * LIMIT;

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
      const out = await sendEndless(s.agent.localUrl, "/v1/completions", { "content-type": "application/json" }, OFFERED);
      // The 413, or the connection closed after it when the close overtook it on loopback.
      if (!out.reset) {
        expect(out.status).toBe(413);
        expect(JSON.parse(out.text)).toEqual({ code: "payload_too_large", message: expect.any(String) });
      }
      // Far less than was offered: the agent stopped reading near the limit (socket buffers aside).
      expect(out.sent).toBeLessThan(OFFERED / 4);
      expect(s.simStats().received).toBe(before);
      // And it still serves.
      expect((await s.call("/v1/completions", { prompt: "after", max_tokens: 2 })).status).toBe(200);
    }, 60_000);
  });
}
