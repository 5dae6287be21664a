#!/usr/bin/env python3
"""A fake frontier (and Ollama) server for tests: standard library only.

Binds 127.0.0.1 on a free port and prints "PORT <n>" as its first stdout line.

Model endpoints (answer text from POST /_answer, default {"label":"unknown"}):
  POST /v1/messages          Anthropic Messages API shape (errors in Anthropic's shape)
  POST /v1/chat/completions  OpenAI chat shape; logprobs.content when "logprobs": true
  POST /v1/completions       OpenAI legacy completion shape; logprobs when "logprobs": n
  POST /api/chat             Ollama chat shape; "logprobs" array when "logprobs": true
  POST /api/generate         Ollama generate shape
  GET  /v1/models, /api/tags, /api/version
Readiness (never fault-injected): GET /health -> {"status": "ok"}

Control endpoints:
  GET  /_requests  JSON list of every request received on the endpoints above, oldest
                   first: {"method", "path", "headers": {lower-case name: value},
                   "body": parsed JSON or the raw text, or null}
  POST /_reset     clears the recorded requests, the fault and the answer
  POST /_answer    {"text": "..."} sets the answer text
  POST /_fail      {"mode": "429"|"500"|"503"|"400"|"401"|"garbage"|"badshape"|"slow"|
                    "cut"|"none",
                    "count": n (default 1), "retry_after": s (429 only, optional),
                    "delay_ms": ms (slow; default 2000)}: the next n model-endpoint
                   requests fail that way. garbage: 200 with a non-JSON body;
                   badshape: 200 with JSON in no API's shape; cut:
                   headers with a Content-Length larger than the body, then close;
                   slow: sleep delay_ms, then answer normally.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_ANSWER = '{"label":"unknown"}'


class State:
    def __init__(self):
        self.lock = threading.Lock()  # guards every field below
        self.reset()

    def reset(self):
        self.requests = []
        self.answer = DEFAULT_ANSWER
        self.fail_mode = "none"
        self.fail_count = 0
        self.retry_after = None
        self.delay_ms = 2000

    def take_fault(self):
        with self.lock:
            if self.fail_mode == "none" or self.fail_count <= 0:
                return None
            self.fail_count -= 1
            fault = (self.fail_mode, self.retry_after, self.delay_ms)
            if self.fail_count == 0:
                self.fail_mode = "none"
            return fault


STATE = State()


def chunk_tokens(text):
    """Splits text into pseudo-tokens of at most 3 characters."""
    return [text[i:i + 3] for i in range(0, len(text), 3)] or [""]


def count_tokens(text):
    return max(1, len(text) // 4)


def token_entries(tokens, top_n):
    entries = []
    for i, tok in enumerate(tokens):
        lp = -0.01 * (i % 5 + 1)
        entry = {"token": tok, "logprob": lp, "bytes": list(tok.encode())}
        alts = [{"token": tok, "logprob": lp, "bytes": list(tok.encode())}]
        for k in range(1, max(0, top_n)):
            alt = "<alt%d>" % k
            alts.append({"token": alt, "logprob": lp - 2.0 * k, "bytes": list(alt.encode())})
        entry["top_logprobs"] = alts[:max(0, top_n)]
        entries.append(entry)
    return entries


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeFrontier/1.0"

    def log_message(self, fmt, *args):  # quiet
        pass

    # ---- plumbing -------------------------------------------------------------------
    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        text = raw.decode("utf-8", errors="replace")
        if not text:
            return text, None
        try:
            return text, json.loads(text)
        except ValueError:
            return text, text

    def send_json(self, status, obj, extra_headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def record(self, body):
        with STATE.lock:
            STATE.requests.append({
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
            })

    def error_body(self, kind, message):
        if self.path.startswith("/v1/messages"):
            return {"type": "error", "error": {"type": kind, "message": message}}
        if self.path.startswith("/api/"):
            return {"error": message}
        return {"error": {"message": message, "type": kind, "code": None}}

    def apply_fault(self):
        """Returns True when the request was answered by a fault."""
        fault = STATE.take_fault()
        if fault is None:
            return False
        mode, retry_after, delay_ms = fault
        if mode == "slow":
            time.sleep(delay_ms / 1000.0)
            return False
        if mode == "429":
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            self.send_json(429, self.error_body("rate_limit_error", "rate limited by fake"), headers)
        elif mode in ("500", "503"):
            self.send_json(int(mode), self.error_body("api_error", "internal error in fake"))
        elif mode == "400":
            self.send_json(400, self.error_body("invalid_request_error", "bad request in fake"))
        elif mode == "401":
            self.send_json(401, self.error_body("authentication_error", "invalid x-api-key"))
        elif mode == "badshape":
            self.send_json(200, {"unexpected": True, "choices": "none", "content": 7})
        elif mode == "garbage":
            data = b"<html>this is not json</html>"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif mode == "cut":
            data = b'{"choices": [{"mess'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data) + 500))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
            self.close_connection = True
        else:
            return False
        return True

    # ---- model endpoints ------------------------------------------------------------
    def answer(self):
        with STATE.lock:
            return STATE.answer

    def anthropic_messages(self, body):
        if not isinstance(body, dict) or "messages" not in body or "max_tokens" not in body:
            self.send_json(400, self.error_body("invalid_request_error",
                                                "messages and max_tokens are required"))
            return
        text = self.answer()
        prompt = json.dumps(body.get("messages")) + str(body.get("system", ""))
        self.send_json(200, {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "fake-frontier"),
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": count_tokens(prompt), "output_tokens": count_tokens(text)},
        })

    def openai_chat(self, body):
        if not isinstance(body, dict) or "messages" not in body:
            self.send_json(400, self.error_body("invalid_request_error", "messages is required"))
            return
        text = self.answer()
        tokens = chunk_tokens(text)
        choice = {"index": 0, "message": {"role": "assistant", "content": text},
                  "finish_reason": "stop"}
        if body.get("logprobs"):
            choice["logprobs"] = {"content": token_entries(tokens, int(body.get("top_logprobs", 0)))}
        else:
            choice["logprobs"] = None
        prompt = json.dumps(body.get("messages"))
        self.send_json(200, {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "model": body.get("model", "fake-frontier"),
            "choices": [choice],
            "usage": {"prompt_tokens": count_tokens(prompt), "completion_tokens": len(tokens),
                      "total_tokens": count_tokens(prompt) + len(tokens),
                      "prompt_tokens_details": {"cached_tokens": 0}},
        })

    def openai_completion(self, body):
        if not isinstance(body, dict) or "prompt" not in body:
            self.send_json(400, self.error_body("invalid_request_error", "prompt is required"))
            return
        text = self.answer()
        tokens = chunk_tokens(text)
        choice = {"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}
        n = body.get("logprobs")
        if isinstance(n, int) and not isinstance(n, bool) and n > 0:
            entries = token_entries(tokens, n)
            choice["logprobs"] = {
                "tokens": tokens,
                "token_logprobs": [e["logprob"] for e in entries],
                "top_logprobs": [{a["token"]: a["logprob"] for a in e["top_logprobs"]}
                                 for e in entries],
            }
        self.send_json(200, {
            "id": "cmpl-fake", "object": "text_completion",
            "model": body.get("model", "fake-frontier"), "choices": [choice],
            "usage": {"prompt_tokens": count_tokens(body["prompt"]),
                      "completion_tokens": len(tokens)},
        })

    def ollama(self, body, chat):
        if not isinstance(body, dict) or "model" not in body:
            self.send_json(400, {"error": "model is required"})
            return
        text = self.answer()
        tokens = chunk_tokens(text)
        reply = {"model": body["model"], "created_at": "2025-01-01T00:00:00Z", "done": True,
                 "done_reason": "stop", "total_duration": 1000, "load_duration": 10,
                 "prompt_eval_count": count_tokens(json.dumps(body.get("messages", body.get("prompt")))),
                 "eval_count": len(tokens)}
        if chat:
            reply["message"] = {"role": "assistant", "content": text}
        else:
            reply["response"] = text
        if body.get("logprobs"):
            reply["logprobs"] = token_entries(tokens, int(body.get("top_logprobs", 0)))
        self.send_json(200, reply)

    # ---- dispatch -------------------------------------------------------------------
    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/health":
            self.send_json(200, {"status": "ok"})
            return
        if path == "/_requests":
            with STATE.lock:
                self.send_json(200, list(STATE.requests))
            return
        if path in ("/v1/models", "/api/tags", "/api/version"):
            self.record(None)
            if self.apply_fault():
                return
            if path == "/v1/models":
                self.send_json(200, {"object": "list", "data": [{"id": "fake-frontier", "object": "model"}]})
            elif path == "/api/tags":
                self.send_json(200, {"models": [{"name": "fake-frontier:latest", "model": "fake-frontier:latest"}]})
            else:
                self.send_json(200, {"version": "0.12.0"})
            return
        self.send_json(404, {"error": "not found: " + path})

    def do_POST(self):
        path = self.path.split("?")[0]
        text, body = self.read_body()
        if path == "/_reset":
            with STATE.lock:
                STATE.reset()
            self.send_json(200, {"ok": True})
            return
        if path == "/_answer":
            if not isinstance(body, dict) or not isinstance(body.get("text"), str):
                self.send_json(400, {"error": "expected {\"text\": \"...\"}"})
                return
            with STATE.lock:
                STATE.answer = body["text"]
            self.send_json(200, {"ok": True})
            return
        if path == "/_fail":
            if not isinstance(body, dict):
                self.send_json(400, {"error": "expected a JSON object"})
                return
            with STATE.lock:
                STATE.fail_mode = str(body.get("mode", "none"))
                STATE.fail_count = int(body.get("count", 1))
                STATE.retry_after = body.get("retry_after")
                STATE.delay_ms = int(body.get("delay_ms", 2000))
            self.send_json(200, {"ok": True})
            return
        routes = {
            "/v1/messages": self.anthropic_messages,
            "/v1/chat/completions": self.openai_chat,
            "/v1/completions": self.openai_completion,
            "/api/chat": lambda b: self.ollama(b, chat=True),
            "/api/generate": lambda b: self.ollama(b, chat=False),
        }
        handler = routes.get(path)
        if handler is None:
            self.send_json(404, {"error": "not found: " + path})
            return
        self.record(body)
        if self.apply_fault():
            return
        if isinstance(body, str):
            self.send_json(400, self.error_body("invalid_request_error", "body is not JSON"))
            return
        handler(body)

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    server = Server(("127.0.0.1", 0), Handler)
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
