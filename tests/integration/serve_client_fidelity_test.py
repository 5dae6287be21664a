"""The official Anthropic and Ollama Python clients against the fake frontier, in the
configuration ladder's own backends use (Messages API with x-api-key; Ollama /api/chat).

ladder speaks these two APIs only as a client (to its frontier and to Ollama), never as a
server, so the meaningful checks are: (1) the fake that ladder's tests rely on answers
the official clients correctly — replies, streams and error types — so a test that
passes against the fake says something about the real API; (2) the requests ladder's
backends send carry the same headers and body fields the official clients send."""

import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_support as support  # noqa: E402

ARGS = support.parse_args()
anthropic = support.require("anthropic")
ollama = support.require("ollama")

ANSWER = '{"label": "build"}'


class FidelityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.environ["ANTHROPIC_API_KEY"] = "sk-ant-test-key-not-secret"
        cls.folder = support.temp_dir()
        cls.fake = support.Fake(ARGS.source)

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        shutil.rmtree(cls.folder, ignore_errors=True)

    def setUp(self):
        self.fake.control("/_reset", {})
        self.fake.control("/_answer", {"text": ANSWER})

    def ladder_route(self, policy_text, task, text):
        path = os.path.join(self.folder, "policy-%s.yaml" % task)
        with open(path, "w") as f:
            f.write(policy_text)
        return subprocess.run([ARGS.ladder, "route", "--policy", path, "--task", task, "--json", "--audit",
                               os.path.join(self.folder, "audit.jsonl")], input=text, capture_output=True,
                              text=True, timeout=300)

    # ---- Anthropic ---------------------------------------------------------------------
    def test_anthropic_client_reads_fake_replies_streams_and_errors(self):
        client = anthropic.Anthropic(base_url=self.fake.url, api_key="sk-ant-test-key-not-secret", max_retries=0)
        msg = client.messages.create(model="claude-sonnet-4-5", max_tokens=64,
                                     messages=[{"role": "user", "content": "classify"}])
        self.assertEqual(msg.content[0].text, ANSWER)
        self.assertEqual(msg.stop_reason, "end_turn")
        self.assertGreater(msg.usage.input_tokens, 0)
        with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64,
                                    messages=[{"role": "user", "content": "classify"}]) as stream:
            pieces = list(stream.text_stream)
            final = stream.get_final_message()
        self.assertEqual("".join(pieces), ANSWER)
        self.assertGreater(len(pieces), 1)
        self.assertEqual(final.usage.output_tokens > 0, True)
        self.fake.control("/_fail", {"mode": "429", "count": 1, "retry_after": 0})
        with self.assertRaises(anthropic.RateLimitError):
            client.messages.create(model="m", max_tokens=8, messages=[{"role": "user", "content": "x"}])
        self.fake.control("/_fail", {"mode": "401", "count": 1})
        with self.assertRaises(anthropic.AuthenticationError):
            client.messages.create(model="m", max_tokens=8, messages=[{"role": "user", "content": "x"}])

    def test_ladder_anthropic_backend_sends_what_the_official_client_sends(self):
        client = anthropic.Anthropic(base_url=self.fake.url, api_key="sk-ant-test-key-not-secret", max_retries=0)
        client.messages.create(model="claude-sonnet-4-5", max_tokens=64, system="sys",
                               messages=[{"role": "user", "content": "classify"}])
        text = support.example_policy(ARGS.source, self.fake.url)
        r = self.ladder_route(text, "security_review", "review auth.go")
        self.assertEqual(r.returncode, 0, r.stderr)
        official, ours = self.fake.posts()
        self.assertEqual(official["path"], ours["path"])
        # The key travels as x-api-key (ladder) or Authorization: Bearer (this client
        # version); the Messages API takes both. Either way it is the configured key.
        def credential(headers):
            if "x-api-key" in headers:
                return headers["x-api-key"]
            return headers.get("authorization", "").replace("Bearer ", "", 1)
        self.assertEqual(credential(ours["headers"]), "sk-ant-test-key-not-secret")
        self.assertEqual(credential(official["headers"]), "sk-ant-test-key-not-secret")
        for header in ("anthropic-version", "content-type"):
            self.assertIn(header, ours["headers"], header)
            self.assertIn(header, official["headers"], header)
        self.assertEqual(ours["headers"]["content-type"].split(";")[0], "application/json")
        for field in ("model", "max_tokens", "messages", "system"):
            self.assertIn(field, ours["body"])
            self.assertEqual(type(ours["body"][field]), type(official["body"][field]), field)
        self.assertEqual(set(ours["body"]["messages"][0]), set(official["body"]["messages"][0]))

    # ---- Ollama ------------------------------------------------------------------------
    def test_ollama_client_reads_fake_replies_streams_and_errors(self):
        client = ollama.Client(host=self.fake.url)
        reply = client.chat(model="fake-frontier", messages=[{"role": "user", "content": "classify"}])
        self.assertEqual(reply.message.content, ANSWER)
        self.assertTrue(reply.done)
        self.assertGreater(reply.eval_count, 0)
        pieces = [part.message.content for part in
                  client.chat(model="fake-frontier", messages=[{"role": "user", "content": "x"}], stream=True)]
        self.assertEqual("".join(pieces), ANSWER)
        self.assertGreater(len(pieces), 1)
        self.assertIn("fake-frontier:latest", [m.model for m in client.list().models])
        self.fake.control("/_fail", {"mode": "500", "count": 1})
        with self.assertRaises(ollama.ResponseError) as err:
            client.chat(model="fake-frontier", messages=[{"role": "user", "content": "x"}])
        self.assertEqual(err.exception.status_code, 500)

    def test_ladder_ollama_backend_sends_what_the_official_client_sends(self):
        client = ollama.Client(host=self.fake.url)
        client.chat(model="gemma3:270m", messages=[{"role": "user", "content": "classify"}],
                    format={"type": "object"}, keep_alive="10m", options={"temperature": 0})
        text = support.example_policy(ARGS.source, self.fake.url)
        start = text.index("  gemma-local:")
        end = text.index("\n  frontier:", start)
        text = text[:start] + ("  gemma-local:\n    backend: ollama\n    base_url: %s\n    model: gemma3:270m\n"
                               "    retry:\n      max_retries: 0" % self.fake.url) + text[end:]
        r = self.ladder_route(text, "classify_issue", "make: *** [all] Error 2")
        self.assertIn(r.returncode, (0, 3), r.stderr)
        official = self.fake.posts()[0]
        ours = [p for p in self.fake.posts()[1:] if p["path"] in ("/api/chat", "/api/generate")][0]
        self.assertEqual(ours["body"]["model"], official["body"]["model"])
        # Every field ladder sends is one the official client sends too, with the same type.
        known = {"model", "messages", "prompt", "stream", "format", "options", "keep_alive", "raw", "logprobs",
                 "top_logprobs", "think", "tools", "template", "system", "images"}
        self.assertTrue(set(ours["body"]) <= known, set(ours["body"]) - known)
        for field in set(ours["body"]) & set(official["body"]):
            self.assertEqual(type(ours["body"][field]), type(official["body"][field]), field)
        self.assertIsInstance(ours["body"]["format"], (dict, str))


if __name__ == "__main__":
    result = unittest.main(verbosity=2, exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)
