"""The official OpenAI Python client against `ladder serve` (real binary, real local
model, fake frontier): answers, the ladder extension and headers, streaming chunk by
chunk, the failure classes of a stream, and errors in OpenAI's shape as the client's own
exception types."""

import json
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_support as support  # noqa: E402

ARGS = support.parse_args()
openai = support.require("openai")

DEPENDENCY_LOG = "ERROR: No matching distribution found for requests==99.0\n"


class OpenAIClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.environ["ANTHROPIC_API_KEY"] = "sk-ant-test-key-not-secret"
        cls.folder = support.temp_dir()
        cls.fake = support.Fake(ARGS.source)
        policy = support.write_policy(ARGS.source, cls.folder, cls.fake.port)
        cls.serve = support.Serve(ARGS.ladder, policy, cls.folder, ["--inter-token-timeout-ms", "1000"])
        cls.client = openai.OpenAI(base_url=cls.serve.base_url, api_key=cls.serve.key, max_retries=0, timeout=120)

    @classmethod
    def tearDownClass(cls):
        cls.serve.stop()
        cls.fake.stop()
        shutil.rmtree(cls.folder, ignore_errors=True)

    def setUp(self):
        self.fake.control("/_reset", {})

    def test_models_list(self):
        ids = {m.id for m in self.client.models.list()}
        for expected in ("ladder/auto", "ladder/classify_issue", "claude-sonnet-4-5"):
            self.assertIn(expected, ids)

    def test_local_answer_with_decision_extension_and_headers(self):
        raw = self.client.chat.completions.with_raw_response.create(
            model="ladder/classify_issue", messages=[{"role": "user", "content": DEPENDENCY_LOG}])
        self.assertEqual(raw.headers["x-ladder-route"], "local")
        completion = raw.parse()
        self.assertEqual(json.loads(completion.choices[0].message.content), {"label": "dependency"})
        self.assertEqual(completion.choices[0].finish_reason, "stop")
        ladder = completion.model_extra["ladder"]
        self.assertEqual(ladder["route"], "local")
        self.assertEqual(ladder["tier"], "local")
        self.assertGreater(completion.usage.prompt_tokens, 0)
        self.assertEqual(self.fake.posts(), [])
        with open(self.serve.audit) as f:
            records = [json.loads(line) for line in f if ladder["request_id"] in line]
        self.assertEqual(records[0]["client"], "python-client")

    def test_auto_with_task_in_extension_escalates_with_reason(self):
        completion = self.client.chat.completions.create(
            model="ladder/auto", messages=[{"role": "user", "content": "review this diff"}],
            extra_body={"ladder": {"task": "security_review"}})
        self.assertEqual(completion.model_extra["ladder"]["reason"], "policy_requires_frontier")
        self.assertEqual(completion.choices[0].message.content, '{"label":"unknown"}')

    def test_pass_through_streams_chunk_by_chunk(self):
        self.fake.control("/_answer", {"text": "streamed words arrive one by one"})
        stream = self.client.chat.completions.create(
            model="claude-sonnet-4-5", messages=[{"role": "user", "content": "hi"}], stream=True,
            stream_options={"include_usage": True})
        chunks = list(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        self.assertEqual(text, "streamed words arrive one by one")
        pieces = [c for c in chunks if c.choices and c.choices[0].delta.content]
        self.assertGreaterEqual(len(pieces), 3, "each upstream piece is its own chunk")
        self.assertEqual([c.choices[0].finish_reason for c in chunks if c.choices][-1], "stop")
        self.assertIsNotNone(chunks[-1].usage)
        self.assertEqual(self.fake.posts()[0]["body"]["stream"], True)

    def test_routed_stream_of_local_answer(self):
        stream = self.client.chat.completions.create(
            model="ladder/classify_issue", messages=[{"role": "user", "content": DEPENDENCY_LOG}], stream=True)
        chunks = list(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        self.assertEqual(json.loads(text)["label"], "dependency")
        self.assertEqual(chunks[-1].model_extra["ladder"]["route"], "local")

    def test_stream_cut_midway_raises_after_partial_answer(self):
        self.fake.control("/_answer", {"text": "alpha beta gamma delta"})
        self.fake.control("/_fail", {"mode": "stream_cut", "count": 1, "after_chunks": 2})
        stream = self.client.chat.completions.create(
            model="ladder/security_review", messages=[{"role": "user", "content": "review auth.go"}], stream=True)
        received = []
        with self.assertRaises(openai.APIError) as caught:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    received.append(chunk.choices[0].delta.content)
        self.assertEqual("".join(received), "alpha beta ")
        self.assertIn("connection", str(caught.exception.message).lower())

    def test_stall_past_inter_token_timeout_raises(self):
        self.fake.control("/_answer", {"text": "alpha beta gamma"})
        self.fake.control("/_fail", {"mode": "stream_stall", "count": 1, "after_chunks": 1, "delay_ms": 3000})
        stream = self.client.chat.completions.create(
            model="claude-sonnet-4-5",
            messages=[{"role": "user", "content": "go"}], stream=True)
        with self.assertRaises(openai.APIError):
            for _ in stream:
                pass

    def test_errors_are_the_clients_own_exception_types(self):
        with self.assertRaises(openai.NotFoundError) as nf:
            self.client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
        self.assertEqual(nf.exception.status_code, 404)
        self.assertEqual(nf.exception.body["code"], "not_found")
        self.assertEqual(nf.exception.body["param"], "model")
        with self.assertRaises(openai.BadRequestError) as bad:
            self.client.chat.completions.create(model="ladder/auto", messages=[{"role": "user", "content": "x"}],
                                                extra_body={"temperature": "hot"})
        self.assertEqual(bad.exception.body["param"], "temperature")
        self.assertEqual(bad.exception.body["type"], "invalid_request_error")
        with self.assertRaises(openai.APIStatusError) as huge:
            self.client.chat.completions.create(model="ladder/auto",
                                                messages=[{"role": "user", "content": "x" * 100000}])
        self.assertEqual(huge.exception.status_code, 413)
        self.assertEqual(huge.exception.body["code"], "payload_too_large")
        wrong_key = openai.OpenAI(base_url=self.serve.base_url, api_key="sk-wrong", max_retries=0)
        with self.assertRaises(openai.AuthenticationError) as auth:
            wrong_key.models.list()
        self.assertEqual(auth.exception.body["code"], "unauthenticated")
        with self.assertRaises(openai.NotFoundError) as run:
            self.client.post("/run", body={"macro": "deploy_v1", "args": {}}, cast_to=object)
        self.assertEqual(run.exception.status_code, 404)
        self.assertEqual(run.exception.body["code"], "not_found")

    def test_unanswered_escalation_is_a_server_error(self):
        self.fake.control("/_fail", {"mode": "500", "count": 10})
        with self.assertRaises(openai.InternalServerError) as err:
            self.client.chat.completions.create(model="ladder/security_review",
                                                messages=[{"role": "user", "content": "review auth.go"}])
        self.assertEqual(err.exception.status_code, 502)
        self.assertEqual(err.exception.body["code"], "upstream_error")
        self.assertEqual(err.exception.response.headers["x-ladder-route"], "frontier")


if __name__ == "__main__":
    result = unittest.main(verbosity=2, exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)
