import { WorkerEntrypoint } from "cloudflare:workers";

// Placeholder until the scaler issue lands: the router's scale-now interface exists
// so the router can call it; the scaling loop itself is issue #4.
export default class Scaler extends WorkerEntrypoint<ScalerEnv> {
  async scaleNow(endpoint: string, reason: string): Promise<void> {
    console.log(JSON.stringify({ level: "info", msg: "scale-now requested", endpoint, reason }));
  }

  override async scheduled(): Promise<void> {}
}
