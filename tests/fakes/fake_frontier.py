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
Echo (never recorded, never fault-injected): GET|POST|PUT|PATCH|DELETE /_echo ->
  {"method", "path", "headers": {lower-case name: value}, "body": raw text}

Streaming: a model request with "stream": true is answered in chunked transfer coding,
the answer split into word-sized pieces (each word with the whitespace after it; the
pieces concatenate to the answer), about 5 ms apart (STREAM_PAUSE_S):
  OpenAI chat        text/event-stream: a role chunk, then `data: {chat.completion.chunk}`
                     with choices[0].delta.content (logprobs.content per piece when asked),
                     a chunk with finish_reason "stop", a usage chunk (choices: []) when
                     stream_options.include_usage, then `data: [DONE]`
  OpenAI completions `data: {text_completion}` with choices[0].text (legacy logprobs per
                     piece when asked), finish chunk, usage chunk, `data: [DONE]`
  Anthropic          `event: message_start`, content_block_start, ping, one
                     content_block_delta (text_delta) per piece, content_block_stop,
                     message_delta (stop_reason end_turn, usage), message_stop
  Ollama             application/x-ndjson: one line per piece with message.content
                     (/api/chat) or response (/api/generate), done false; a last line
                     with done true, done_reason "stop", prompt_eval_count, eval_count

Control endpoints:
  GET  /_requests  JSON list of every request received on the endpoints above, oldest
                   first: {"method", "path", "headers": {lower-case name: value},
                   "body": parsed JSON or the raw text, or null}
  POST /_reset     clears the recorded requests, the fault and the answer
  POST /_answer    {"text": "..."} sets the answer text
  POST /_script    {"replies": [reply, ...]} queues replies for the next chat requests
                   (/v1/chat/completions and /v1/messages, one each, oldest first; then
                   the answer text again). A reply is {"text": "..."} or
                   {"tool_calls": [{"id": "...", "name": "...", "arguments": {...}}]}:
                   OpenAI message.tool_calls (content null, finish_reason tool_calls;
                   streamed as delta.tool_calls, the id and name first, the arguments
                   JSON in three pieces), Anthropic tool_use blocks (stop_reason
                   tool_use; streamed as content_block_start + input_json_delta
                   pieces). Stream faults count these pieces like words.
  POST /_fail      {"mode": "429"|"500"|"503"|"400"|"401"|"garbage"|"badshape"|"slow"|
                    "cut"|"stream_cut"|"stream_stall"|"stream_error"|"none",
                    "count": n (default 1), "retry_after": s (429 only, optional),
                    "delay_ms": ms (slow, stream_stall; default 2000),
                    "after_chunks": n (stream modes; default 1),
                    "path_contains": s (optional: only requests whose path contains s,
                    e.g. "/v1/models" for the health probes)}: the next n matching
                   model-endpoint requests (GET /v1/models, /api/tags and /api/version
                   included) fail that way. garbage: 200 with a non-JSON
                   body; badshape: 200 with JSON in no API's shape; cut: headers with a
                   Content-Length larger than the body, then close; slow: sleep
                   delay_ms, then answer normally. These apply to streamed requests too,
                   before the first byte of the response.
                   Stream modes apply to the next n requests with "stream": true only
                   (other requests neither see nor use them up):
                   stream_cut: after_chunks content pieces, then the connection closes
                     without the stream's terminator (and without the last chunk of the
                     chunked coding);
                   stream_stall: after_chunks content pieces, a pause of delay_ms, then
                     the rest of the stream as usual;
                   stream_error: after_chunks content pieces, then an in-band error and
                     the end of the body: OpenAI `data: {"error": {...}}` (no [DONE]),
                     Anthropic `event: error` (overloaded_error), Ollama
                     {"error": "..."}.
                   hold: the request waits until POST /_release (at most delay_ms,
                     default 2000), then is answered normally.
  POST /_wait_held {"count": n, "timeout_ms": t (default 10000)}: returns once n
                   requests are being held (200 {"held": n}), or 408 after t.
  POST /_release   ends every hold, now and until the next POST /_fail.
"""

import json
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_ANSWER = '{"label":"unknown"}'
STREAM_PAUSE_S = 0.005
STREAM_MODES = ("stream_cut", "stream_stall", "stream_error")


class State:
    def __init__(self):
        self.lock = threading.Lock()  # guards every field below
        self.changed = threading.Condition(self.lock)  # held or released changed
        self.held = 0
        self.released = False
        self.reset()

    def reset(self):
        self.requests = []
        self.answer = DEFAULT_ANSWER
        self.fail_mode = "none"
        self.fail_count = 0
        self.retry_after = None
        self.delay_ms = 2000
        self.after_chunks = 1
        self.path_contains = None
        self.script = []

    def take_fault(self, path, streaming=False):
        """The fault for this request, used up; stream modes only for streamed requests."""
        with self.lock:
            if self.fail_mode == "none" or self.fail_count <= 0:
                return None
            if self.fail_mode in STREAM_MODES and not streaming:
                return None
            if self.path_contains is not None and self.path_contains not in path:
                return None
            self.fail_count -= 1
            fault = (self.fail_mode, self.retry_after, self.delay_ms, self.after_chunks)
            if self.fail_count == 0:
                self.fail_mode = "none"
            return fault


STATE = State()


def chunk_tokens(text):
    """Splits text into pseudo-tokens of at most 3 characters."""
    return [text[i:i + 3] for i in range(0, len(text), 3)] or [""]


def word_pieces(text):
    """Splits text into word-sized pieces (a word and the whitespace after it)."""
    return re.findall(r"\s+|\S+\s*", text)


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
    disable_nagle_algorithm = True  # stream pieces leave at once

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

    def apply_fault(self, streaming=False):
        """Returns True when the request was answered by a fault. A stream fault is left
        in self.stream_fault for the streaming handler."""
        self.stream_fault = None
        fault = STATE.take_fault(self.path, streaming)
        if fault is None:
            return False
        mode, retry_after, delay_ms, after_chunks = fault
        if mode in STREAM_MODES:
            self.stream_fault = (mode, delay_ms, after_chunks)
            return False
        if mode == "slow":
            time.sleep(delay_ms / 1000.0)
            return False
        if mode == "hold":
            with STATE.changed:
                STATE.held += 1
                STATE.changed.notify_all()
                STATE.changed.wait_for(lambda: STATE.released, timeout=delay_ms / 1000.0)
                STATE.held -= 1
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

    # ---- streaming --------------------------------------------------------------------
    def start_stream(self, content_type):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def write_chunk(self, data):
        if isinstance(data, str):
            data = data.encode()
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def cut_stream(self):
        """Closes the connection at once, without the chunked coding's last chunk."""
        self.wfile.flush()
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    def run_stream(self, pieces, emit_piece, emit_error):
        """Sends each piece through emit_piece with a short pause between them, applying
        the stream fault. Returns False when the stream was ended by the fault (the
        caller sends no terminator then)."""
        mode, delay_ms, after_chunks = self.stream_fault or ("none", 0, 0)
        for i, piece in enumerate(pieces):
            if i == after_chunks:
                if mode == "stream_cut":
                    self.cut_stream()
                    return False
                if mode == "stream_error":
                    emit_error()
                    self.end_stream()
                    return False
                if mode == "stream_stall":
                    time.sleep(delay_ms / 1000.0)
            if i > 0:
                time.sleep(STREAM_PAUSE_S)
            emit_piece(piece)
        if len(pieces) <= after_chunks:
            if mode == "stream_cut":
                self.cut_stream()
                return False
            if mode == "stream_error":
                emit_error()
                self.end_stream()
                return False
            if mode == "stream_stall":
                time.sleep(delay_ms / 1000.0)
        time.sleep(STREAM_PAUSE_S)
        return True

    def sse(self, data, event=None):
        text = ("event: %s\n" % event if event else "") + "data: %s\n\n" % (
            data if isinstance(data, str) else json.dumps(data))
        self.write_chunk(text)

    def openai_stream(self, body, chat, text=None):
        text = self.answer() if text is None else text
        pieces = word_pieces(text)
        model = body.get("model", "fake-frontier")
        prompt = json.dumps(body.get("messages")) if chat else str(body.get("prompt"))
        logprobs = body.get("logprobs")
        top_n = int(body.get("top_logprobs", 0)) if chat else (
            logprobs if isinstance(logprobs, int) and not isinstance(logprobs, bool) else 0)
        n_tokens = sum(len(chunk_tokens(p)) for p in pieces)
        base = {"id": "chatcmpl-fake" if chat else "cmpl-fake",
                "object": "chat.completion.chunk" if chat else "text_completion",
                "created": 1735689600, "model": model}

        def chunk(choice):
            return dict(base, choices=[dict({"index": 0, "finish_reason": None, "logprobs": None}, **choice)])

        def emit_piece(piece):
            entries = token_entries(chunk_tokens(piece), top_n) if logprobs else None
            if chat:
                choice = {"delta": {"content": piece}}
                if entries is not None:
                    choice["logprobs"] = {"content": entries}
            else:
                choice = {"text": piece}
                if entries is not None:
                    choice["logprobs"] = {
                        "tokens": [e["token"] for e in entries],
                        "token_logprobs": [e["logprob"] for e in entries],
                        "top_logprobs": [{a["token"]: a["logprob"] for a in e["top_logprobs"]}
                                         for e in entries]}
            self.sse(chunk(choice))

        def emit_error():
            self.sse({"error": {"message": "stream failed in fake", "type": "server_error",
                                "code": None}})

        self.start_stream("text/event-stream")
        if chat:
            self.sse(chunk({"delta": {"role": "assistant", "content": ""}}))
        if not self.run_stream(pieces, emit_piece, emit_error):
            return
        self.sse(chunk({"delta": {}, "finish_reason": "stop"} if chat else
                       {"text": "", "finish_reason": "stop"}))
        if isinstance(body.get("stream_options"), dict) and body["stream_options"].get("include_usage"):
            self.sse(dict(base, choices=[], usage={
                "prompt_tokens": count_tokens(prompt), "completion_tokens": n_tokens,
                "total_tokens": count_tokens(prompt) + n_tokens,
                "prompt_tokens_details": {"cached_tokens": 0}}))
        self.sse("[DONE]")
        self.end_stream()

    def anthropic_stream(self, body, text=None):
        text = self.answer() if text is None else text
        pieces = word_pieces(text)
        prompt = json.dumps(body.get("messages")) + str(body.get("system", ""))
        model = body.get("model", "fake-frontier")

        def emit_piece(piece):
            self.sse({"type": "content_block_delta", "index": 0,
                      "delta": {"type": "text_delta", "text": piece}}, "content_block_delta")

        def emit_error():
            self.sse({"type": "error", "error": {"type": "overloaded_error",
                                                 "message": "stream failed in fake"}}, "error")

        self.start_stream("text/event-stream")
        self.sse({"type": "message_start", "message": {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": count_tokens(prompt), "output_tokens": 1}}}, "message_start")
        self.sse({"type": "content_block_start", "index": 0,
                  "content_block": {"type": "text", "text": ""}}, "content_block_start")
        self.sse({"type": "ping"}, "ping")
        if not self.run_stream(pieces, emit_piece, emit_error):
            return
        self.sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        self.sse({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                  "usage": {"output_tokens": count_tokens(text)}}, "message_delta")
        self.sse({"type": "message_stop"}, "message_stop")
        self.end_stream()

    def ollama_stream(self, body, chat):
        text = self.answer()
        pieces = word_pieces(text)
        model = body["model"]

        def line(obj):
            self.write_chunk(json.dumps(obj) + "\n")

        def emit_piece(piece):
            reply = {"model": model, "created_at": "2025-01-01T00:00:00Z", "done": False}
            if chat:
                reply["message"] = {"role": "assistant", "content": piece}
            else:
                reply["response"] = piece
            if body.get("logprobs"):
                reply["logprobs"] = token_entries(chunk_tokens(piece), int(body.get("top_logprobs", 0)))
            line(reply)

        def emit_error():
            line({"error": "stream failed in fake"})

        self.start_stream("application/x-ndjson")
        if not self.run_stream(pieces, emit_piece, emit_error):
            return
        final = {"model": model, "created_at": "2025-01-01T00:00:00Z", "done": True,
                 "done_reason": "stop", "total_duration": 1000, "load_duration": 10,
                 "prompt_eval_count": count_tokens(json.dumps(body.get("messages", body.get("prompt")))),
                 "eval_count": sum(len(chunk_tokens(p)) for p in pieces)}
        if chat:
            final["message"] = {"role": "assistant", "content": ""}
        else:
            final["response"] = ""
        line(final)
        self.end_stream()

    # ---- model endpoints ------------------------------------------------------------
    def answer(self):
        with STATE.lock:
            return STATE.answer

    def next_reply(self):
        """The next scripted reply ({"text"} or {"tool_calls"}), or the answer text."""
        with STATE.lock:
            if STATE.script:
                return STATE.script.pop(0)
            return {"text": STATE.answer}

    @staticmethod
    def argument_pieces(arguments):
        text = json.dumps(arguments)
        third = max(1, len(text) // 3)
        return [text[:third], text[third:2 * third], text[2 * third:]]

    def openai_tool_calls(self, body, calls):
        model = body.get("model", "fake-frontier")
        prompt_tokens = count_tokens(json.dumps(body.get("messages")))
        if body.get("stream") is not True:
            self.send_json(200, {
                "id": "chatcmpl-fake", "object": "chat.completion", "created": 1735689600, "model": model,
                "choices": [{"index": 0, "logprobs": None, "finish_reason": "tool_calls", "message": {
                    "role": "assistant", "content": None, "refusal": None,
                    "tool_calls": [{"id": c["id"], "type": "function", "function": {
                        "name": c["name"], "arguments": json.dumps(c.get("arguments", {}))}} for c in calls]}}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 7 * len(calls),
                          "total_tokens": prompt_tokens + 7 * len(calls)}})
            return
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1735689600, "model": model}

        def chunk(delta, finish=None):
            return dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])

        pieces = []
        for i, c in enumerate(calls):
            pieces.append({"tool_calls": [{"index": i, "id": c["id"], "type": "function",
                                           "function": {"name": c["name"], "arguments": ""}}]})
            for part in self.argument_pieces(c.get("arguments", {})):
                pieces.append({"tool_calls": [{"index": i, "function": {"arguments": part}}]})

        def emit_error():
            self.sse({"error": {"message": "stream failed in fake", "type": "server_error", "code": None}})

        self.start_stream("text/event-stream")
        self.sse(chunk({"role": "assistant", "content": None}))
        if not self.run_stream(pieces, lambda d: self.sse(chunk(d)), emit_error):
            return
        self.sse(chunk({}, "tool_calls"))
        if isinstance(body.get("stream_options"), dict) and body["stream_options"].get("include_usage"):
            self.sse(dict(base, choices=[], usage={"prompt_tokens": prompt_tokens, "completion_tokens": 7 * len(calls),
                                                   "total_tokens": prompt_tokens + 7 * len(calls)}))
        self.sse("[DONE]")
        self.end_stream()

    def anthropic_tool_calls(self, body, calls):
        model = body.get("model", "fake-frontier")
        input_tokens = count_tokens(json.dumps(body.get("messages")) + str(body.get("system", "")))
        if body.get("stream") is not True:
            self.send_json(200, {
                "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "tool_use", "id": c["id"], "name": c["name"], "input": c.get("arguments", {})}
                            for c in calls],
                "stop_reason": "tool_use", "stop_sequence": None,
                "usage": {"input_tokens": input_tokens, "output_tokens": 7 * len(calls)}})
            return
        pieces = []
        for i, c in enumerate(calls):
            pieces.append(("content_block_start", {"type": "content_block_start", "index": i, "content_block": {
                "type": "tool_use", "id": c["id"], "name": c["name"], "input": {}}}))
            for part in self.argument_pieces(c.get("arguments", {})):
                pieces.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                                       "delta": {"type": "input_json_delta", "partial_json": part}}))
            pieces.append(("content_block_stop", {"type": "content_block_stop", "index": i}))

        def emit_error():
            self.sse({"type": "error", "error": {"type": "overloaded_error", "message": "stream failed in fake"}},
                     "error")

        self.start_stream("text/event-stream")
        self.sse({"type": "message_start", "message": {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1}}}, "message_start")
        if not self.run_stream(pieces, lambda p: self.sse(p[1], p[0]), emit_error):
            return
        self.sse({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                  "usage": {"output_tokens": 7 * len(calls)}}, "message_delta")
        self.sse({"type": "message_stop"}, "message_stop")
        self.end_stream()

    def anthropic_messages(self, body):
        if not isinstance(body, dict) or "messages" not in body or "max_tokens" not in body:
            self.send_json(400, self.error_body("invalid_request_error",
                                                "messages and max_tokens are required"))
            return
        reply = self.next_reply()
        if "tool_calls" in reply:
            self.anthropic_tool_calls(body, reply["tool_calls"])
            return
        if body.get("stream") is True:
            self.anthropic_stream(body, reply["text"])
            return
        text = reply["text"]
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
        reply = self.next_reply()
        if "tool_calls" in reply:
            self.openai_tool_calls(body, reply["tool_calls"])
            return
        if body.get("stream") is True:
            self.openai_stream(body, chat=True, text=reply["text"])
            return
        text = reply["text"]
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
        if body.get("stream") is True:
            self.openai_stream(body, chat=False)
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
        if body.get("stream") is True:
            self.ollama_stream(body, chat)
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
    def echo(self):
        text, _ = self.read_body()
        self.send_json(200, {"method": self.command, "path": self.path,
                             "headers": {k.lower(): v for k, v in self.headers.items()},
                             "body": text})

    def do_other(self):
        if self.path.split("?")[0] == "/_echo":
            self.echo()
            return
        self.read_body()
        self.send_json(405, {"error": "method not allowed: " + self.command})

    do_PUT = do_other
    do_PATCH = do_other
    do_DELETE = do_other

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/_echo":
            self.echo()
            return
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
        if path == "/_echo":
            self.echo()
            return
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
        if path == "/_script":
            replies = body.get("replies") if isinstance(body, dict) else None
            if not isinstance(replies, list) or not all(
                    isinstance(r, dict) and (isinstance(r.get("text"), str) or isinstance(r.get("tool_calls"), list))
                    for r in replies):
                self.send_json(400, {"error": "expected {\"replies\": [{\"text\"} or {\"tool_calls\"}, ...]}"})
                return
            with STATE.lock:
                STATE.script.extend(replies)
            self.send_json(200, {"ok": True})
            return
        if path == "/_wait_held":
            want = int(body.get("count", 1)) if isinstance(body, dict) else 1
            timeout = int(body.get("timeout_ms", 10000)) if isinstance(body, dict) else 10000
            with STATE.changed:
                reached = STATE.changed.wait_for(lambda: STATE.held >= want, timeout=timeout / 1000.0)
                held = STATE.held
            self.send_json(200 if reached else 408, {"held": held})
            return
        if path == "/_release":
            with STATE.changed:
                STATE.released = True
                STATE.changed.notify_all()
            self.send_json(200, {"ok": True})
            return
        if path == "/_fail":
            if not isinstance(body, dict):
                self.send_json(400, {"error": "expected a JSON object"})
                return
            with STATE.lock:
                STATE.released = False
                STATE.fail_mode = str(body.get("mode", "none"))
                STATE.fail_count = int(body.get("count", 1))
                STATE.retry_after = body.get("retry_after")
                STATE.delay_ms = int(body.get("delay_ms", 2000))
                STATE.after_chunks = int(body.get("after_chunks", 1))
                STATE.path_contains = body.get("path_contains")
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
        streaming = isinstance(body, dict) and body.get("stream") is True
        if self.apply_fault(streaming):
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
