#!/bin/sh
# A worker-group template's boot script (Vast runs it as the container's entry point on every start):
# the model server in the background, logging to MODEL_LOG, and the gpu-agent in front of it. The agent
# tails MODEL_LOG for vLLM's "Application startup complete." (or an error line), benchmarks the model,
# and reports to the router with the credentials the scaler injected (WORKER_ID, MASTER_TOKEN,
# REPORT_ADDR, ENDPOINT, WORKER_PORT; Vast adds CONTAINER_ID, PUBLIC_IPADDR, VAST_TCP_PORT_<port>).
# SIGTERM (a stop) drains the agent first, then stops the model.
set -eu

: "${MODEL_NAME:=Qwen/Qwen2.5-0.5B-Instruct}"
: "${MODEL_ARGS:=}"
: "${MODEL_PORT:=8000}"
: "${MODEL_LOG:=/var/log/model/model.log}"
: "${MODEL_CMD:=python3 -m vllm.entrypoints.openai.api_server --host 127.0.0.1 --port ${MODEL_PORT} --model ${MODEL_NAME} ${MODEL_ARGS}}"
: "${AGENT_JS:=/opt/gpu-agent/gpu-agent.mjs}"
: "${NODE:=node}"

mkdir -p "$(dirname "$MODEL_LOG")"
# shellcheck disable=SC2086 # MODEL_CMD is a command line on purpose
sh -c "exec $MODEL_CMD" >>"$MODEL_LOG" 2>&1 &
MODEL_PID=$!

export BACKEND_URL="${BACKEND_URL:-http://127.0.0.1:${MODEL_PORT}}"
export BACKEND="${BACKEND:-openai}"
export MODEL_LOG
export MODEL_HEALTH="${MODEL_HEALTH:-/health}"
"$NODE" "$AGENT_JS" &
AGENT_PID=$!

stop() {
  kill -TERM "$AGENT_PID" 2>/dev/null || true
  wait "$AGENT_PID" 2>/dev/null || true
  kill -TERM "$MODEL_PID" 2>/dev/null || true
  wait "$MODEL_PID" 2>/dev/null || true
  exit 0
}
trap stop TERM INT

# If either process dies, stop the other: Vast then sees the instance exit and the scaler replaces it.
while kill -0 "$AGENT_PID" 2>/dev/null && kill -0 "$MODEL_PID" 2>/dev/null; do
  sleep 1 &
  wait $! || true
done
stop
