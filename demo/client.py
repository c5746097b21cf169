#!/usr/bin/env python3
"""One completion through the platform with nothing but Python's standard library.

It speaks the protocol exactly as Vast's Python SDK does: POST /route/, re-poll with the same
request_idx while no worker is ready, then POST {"auth_data", "payload"} to the worker, re-routing
on 408/429/5xx. Point it at our router instead of run.vast.ai; nothing else changes.

    python3 demo/client.py                      # reads .state/stack.json written by `npm start`
    ROUTER_URL=... ENDPOINT=... API_KEY=... python3 demo/client.py "Tell me about GPUs"
"""
import json
import os
import random
import sys
import time
import urllib.error
import urllib.request


def load_settings():
    path = os.path.join(os.environ.get("STATE_DIR", ".state"), "stack.json")
    info = {}
    if os.path.exists(path):
        with open(path) as f:
            info = json.load(f)
    settings = {
        "router": os.environ.get("ROUTER_URL") or info.get("router"),
        "endpoint": os.environ.get("ENDPOINT") or info.get("endpoint"),
        "api_key": os.environ.get("API_KEY") or info.get("api_key"),
    }
    missing = [k for k, v in settings.items() if not v]
    if missing:
        sys.exit(f"client.py: missing {', '.join(missing)}: run `npm start` first, or set ROUTER_URL, ENDPOINT and API_KEY")
    return settings


def post(url, body, api_key, timeout=60):
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def route(settings, cost, request_idx):
    body = {"endpoint": settings["endpoint"], "api_key": settings["api_key"], "cost": cost, "request_idx": request_idx, "replay_timeout": 60}
    status, text = post(settings["router"].rstrip("/") + "/route/", body, settings["api_key"])
    if status != 200:
        sys.exit(f"client.py: /route/ answered {status}: {text}")
    return json.loads(text)


def complete(settings, prompt, max_tokens=64, deadline_s=300):
    deadline = time.time() + deadline_s
    request_idx = 0
    attempt = 0
    while time.time() < deadline:
        answer = route(settings, max_tokens, request_idx)
        request_idx = answer.get("request_idx") or request_idx
        if "url" not in answer:
            print(f"waiting: {answer.get('status')}", file=sys.stderr)
            time.sleep(min(2 ** attempt + random.random(), 5))
            attempt += 1
            continue
        payload = {"model": "demo", "prompt": prompt, "max_tokens": max_tokens}
        status, text = post(answer["url"] + "/v1/completions", {"auth_data": answer, "payload": payload}, settings["api_key"])
        if status in (408, 429) or status >= 500:
            print(f"worker answered {status}; routing again", file=sys.stderr)
            time.sleep(min(2 ** attempt + random.random(), 5))
            attempt += 1
            continue
        return status, text
    sys.exit("client.py: no answer before the deadline")


if __name__ == "__main__":
    prompt = " ".join(sys.argv[1:]) or "Say hello from a GPU."
    status, text = complete(load_settings(), prompt)
    print(text)
    sys.exit(0 if status == 200 else 1)
