// The environment contract: Vast's names, our additions, defaults, and errors that name the variable.
import { describe, expect, it } from "vitest";
import { ConfigError, advertisedUrl, loadConfig } from "../src/config.ts";

const base = {
  CONTAINER_ID: "123456",
  PUBLIC_IPADDR: "203.0.113.7",
  REPORT_ADDR: "https://router.example.com/",
  MASTER_TOKEN: "mt",
  ENDPOINT: "llama",
  BACKEND_URL: "http://127.0.0.1:8000",
};

function problems(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe("agent configuration", () => {
  it("reads what Vast injects, with defaults", () => {
    const c = loadConfig({ ...base, VAST_TCP_PORT_3000: "41234" });
    expect(c).toMatchObject({ workerId: 123456, port: 3000, backend: "openai", routerUrl: "https://router.example.com", maxQueueTimeS: 30, vastCompat: false, httpStack: "node" });
    expect(advertisedUrl(c, 3000)).toBe("http://203.0.113.7:41234");
  });

  it.each([
    [{ WORKER_ID: "w_abc" }, "w_abc"],
    [{ WORKER_ID: "" }, 123456], // empty means unset
    [{ CONTAINER_ID: "i-9" }, "i-9"],
  ])("worker id from %o is %o", (over, id) => {
    expect(loadConfig({ ...base, ...over }).workerId).toBe(id);
  });

  it.each([
    [{}, 3000, "http://203.0.113.7:3000"],
    [{ WORKER_PORT: "0" }, 45678, "http://203.0.113.7:45678"],
    [{ PUBLIC_URL: "https://w1.example.com/" }, 3000, "https://w1.example.com"],
    [{ PUBLIC_IPADDR: "2001:db8::1" }, 3000, "http://[2001:db8::1]:3000"],
  ])("advertised URL with %o listening on %d is %s", (over, port, url) => {
    const c = loadConfig({ ...base, ...over });
    expect(advertisedUrl(c, port)).toBe(url);
  });

  it.each([
    [{ MASTER_TOKEN: undefined }, "MASTER_TOKEN"],
    [{ REPORT_ADDR: "router" }, "REPORT_ADDR"],
    [{ BACKEND: "llamacpp" }, "BACKEND"],
    [{ ENDPOINT: "bad name!" }, "ENDPOINT"],
    [{ WORKER_PORT: "70000" }, "WORKER_PORT"],
    [{ MAX_QUEUE_TIME: "-1" }, "MAX_QUEUE_TIME"],
    [{ CONTAINER_ID: undefined }, "WORKER_ID or CONTAINER_ID"],
    [{ PUBLIC_IPADDR: undefined }, "PUBLIC_URL or PUBLIC_IPADDR"],
    [{ VAST_TCP_PORT_3000: "x" }, "VAST_TCP_PORT_3000"],
    [{ MODEL_ERROR_MSGS: "Traceback" }, "MODEL_ERROR_MSGS"],
    [{ BACKEND: "generic" }, "BENCH_PATH, BENCH_PAYLOAD and BENCH_WORKLOAD"],
    [{ VAST_COMPAT: "maybe" }, "VAST_COMPAT"],
  ])("refuses %o, naming %s", (over, name) => {
    expect(problems({ ...base, ...over }).join("\n")).toContain(name);
  });

  it("never puts a secret in its error text", () => {
    expect(problems({ ...base, MASTER_TOKEN: "x".repeat(600) }).join("\n")).not.toContain("xxxx");
  });

  it("takes the generic backend's benchmark request from the environment", () => {
    const c = loadConfig({ ...base, BACKEND: "generic", BENCH_PATH: "/infer", BENCH_PAYLOAD: '{"input":"x"}', BENCH_WORKLOAD: "3", MODEL_ERROR_MSGS: '["boom"]' });
    expect(c.bench).toMatchObject({ path: "/infer", payload: { input: "x" }, workload: 3 });
    expect(c.modelErrorMsgs).toEqual(["boom"]);
  });
});
