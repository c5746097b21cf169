// A stand-in for a gpu-agent (and, with --port, for a model server) honouring the launch contract:
// listens where it is told, prints "listening on http://127.0.0.1:<port>", reports once to
// REPORT_ADDR with the environment it was given, exits on SIGTERM. Used by the stand-in's own tests.
import { createServer } from "node:http";

const portFlag = process.argv.indexOf("--port");
const port = portFlag >= 0 ? Number(process.argv[portFlag + 1]) : Number(process.env.WORKER_PORT ?? 3000);
const server = createServer((_req, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ ok: true, pid: process.pid }));
});
server.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${port}`);
  if (portFlag >= 0 || !process.env.REPORT_ADDR) return;
  const keys = ["WORKER_ID", "MASTER_TOKEN", "ENDPOINT", "CONTAINER_ID", "PUBLIC_IPADDR", "WORKER_PORT", "BACKEND_URL", "GPU_NAME", "GROUP_VAR"];
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => keys.includes(k) || k.startsWith("VAST_")));
  void fetch(`${process.env.REPORT_ADDR}/worker_status/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id: process.env.WORKER_ID, pid: process.pid, env }),
  }).catch(() => undefined);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
