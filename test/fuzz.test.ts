// The fuzz campaign of `npm run fuzz`, sampled: a few hundred malformed requests per surface on the
// same real targets (the router in Miniflare with its D1 and Durable Objects, a real agent), each
// answered with a documented 4xx in the documented shape, and the stored state unchanged afterwards.
// A failure names its case and seed; FUZZ_SEED=<seed> npx vitest run test/fuzz.test.ts replays it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fuzzAgent, fuzzRouterSurface, ROUTER_SURFACES } from "./fuzz/campaign.ts";
import { startAgentTarget, startRouterTarget, type AgentTarget, type RouterTarget } from "./fuzz/targets.ts";

/** Enough for every input class to come up on every surface (14 classes, several routes each). */
const SAMPLE = 200;
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

describe(`malformed input, ${SAMPLE} cases per surface (seed ${seed})`, () => {
  describe("router", () => {
    let router: RouterTarget;
    beforeAll(async () => {
      router = await startRouterTarget();
    }, 120_000);
    afterAll(async () => router?.close(), 60_000);

    for (const [, surface] of ROUTER_SURFACES) {
      it(`${surface.name}: every answer a documented 4xx, state unchanged`, async () => {
        const row = await fuzzRouterSurface(router, surface, { numRuns: SAMPLE, seed });
        expect(row.failure).toBeNull();
        expect(row.state_detail ?? "").toBe("");
        expect(row.state_unchanged).toBe(true);
        expect(row.cases).toBe(SAMPLE);
        expect(Object.keys(row.by_status).every((s) => Number(s) >= 400 && Number(s) < 500)).toBe(true);
      }, 120_000);
    }
  });

  describe("gpu-agent", () => {
    let agent: AgentTarget;
    beforeAll(async () => {
      agent = await startAgentTarget();
    }, 120_000);
    afterAll(async () => agent?.close(), 60_000);

    it("model routes: every answer a documented 4xx, the model server sees nothing, no load left behind", async () => {
      const row = await fuzzAgent(agent, { numRuns: SAMPLE, seed });
      expect(row.failure).toBeNull();
      expect(row.state_detail ?? "").toBe("");
      expect(row.state_unchanged).toBe(true);
      expect(row.cases).toBe(SAMPLE);
    }, 120_000);
  });
});
