// A 429 or 5xx storm at Vast: the scaler backs off within a bounded number of calls, acts on
// nothing it cannot see, never exceeds max_workers, and converges once the storm ends.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { accounted, agentsReport, clock, instances, ledger, load, makeEndpoint, sim, tick } from "./helpers.ts";

beforeEach(async () => {
  await sim("/sim/reset", {});
  clock.offsetMs = 0;
});

const counters = async () => (await sim<{ counters: Record<string, number> }>("/sim/state")).counters;

describe("storms", () => {
  it("backs off in a 429 storm after a bounded number of calls, writes nothing, then converges", async () => {
    const ep = await makeEndpoint({ max_workers: 2 });
    await load(ep, 10, 100);
    await sim("/sim/faults", { rateLimitRate: 1 });
    const stormy = await tick();
    expect(stormy.status).toBe("failed");
    expect(stormy.detail).toMatch(/rate_limited/);
    // One list call, retried with backoff up to VAST_MAX_ATTEMPTS (4), then nothing more this tick.
    expect((await counters())["429"]).toBe(4);
    expect(stormy.vast.retries).toBe(3);
    expect(await ledger(ep.name)).toEqual([]);
    const { results } = await env.DB.prepare(`SELECT outcome FROM events WHERE action = 'tick' ORDER BY id DESC LIMIT 1`).all<{ outcome: string }>();
    expect(results[0]!.outcome).toMatch(/rate_limited/);

    await sim("/sim/faults", { rateLimitRate: 0 });
    const calm = await tick();
    expect(calm.status).toBe("done");
    expect(await instances(ep.name)).toHaveLength(1);
  });

  it("converges through a storm of 5xx answers and timeouts without ever exceeding max_workers or leaking", async () => {
    const ep = await makeEndpoint({ max_workers: 3 });
    await sim("/sim/faults", { errorRate: 0.4, timeoutRate: 0.1, hangMs: 1000 });
    const over = { VAST_TIMEOUT_MS: 200, CREATE_GRACE_S: 1, GONE_GRACE_S: 1 };
    for (let i = 0; i < 8; i++) {
      clock.offsetMs += 2_000;
      await load(ep, 20, 200);
      await tick({ kind: "cron" }, over);
      expect((await instances(ep.name)).length).toBeLessThanOrEqual(3);
      await agentsReport(ep.name, 100);
    }
    await sim("/sim/faults", { errorRate: 0, timeoutRate: 0 });
    for (let i = 0; i < 3; i++) {
      clock.offsetMs += 2_000;
      await load(ep, 20, 200);
      await tick({ kind: "cron" }, over);
      await agentsReport(ep.name, 100);
    }
    const { open, live } = await accounted(ep.name);
    expect(live).toHaveLength(3);
    expect(open.map((r) => r.vast_instance_id).sort()).toEqual(live.map((i) => i.id).sort());
    const c = await counters();
    expect((c["500"] ?? 0) + (c["502"] ?? 0) + (c["503"] ?? 0) + (c.hung ?? 0)).toBeGreaterThan(0);
  });
});
