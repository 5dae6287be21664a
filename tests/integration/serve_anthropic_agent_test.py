"""The official Anthropic Python client as an agent behind `ladder serve` (real binary, fake
frontier, no local model): a tool-use loop relayed to a model of the anthropic backend,
plain and with client.messages.stream(...) (tool_use, then a tool_result turn, then the
final answer), a routed ladder/<task> request in Anthropic's shape, and ladder's errors
as the client's own exception types."""

import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_support as support  # noqa: E402

ARGS = support.parse_args()
anthropic = support.require("anthropic")

TOOLS = [{
    "name": "get_weather",
    "description": "The current weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}]
QUESTION = "What is the weather in Paris?"
ANSWER = "It is sunny in Paris, 21 degrees."


def write_policy(folder, fake_port):
    url = "http://127.0.0.1:%d" % fake_port
    path = os.path.join(folder, "policy.yaml")
    with open(path, "w") as f:
        f.write("version: 1\nmodels:\n"
                "  small:\n    backend: openai\n    base_url: %s\n    model: small\n    retry: {max_retries: 0}\n"
                "  claude:\n    backend: anthropic\n    base_url: %s\n    model: claude-fake-1\n"
                "    retry: {max_retries: 0}\n"
                "tiers:\n  - name: local\n    models: [small]\n  - name: frontier\n    models: [claude]\n"
                "tasks:\n  review:\n    kind: generate\n    local: false\n" % (url, url))
    return path


class AnthropicAgentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = support.temp_dir()
        cls.fake = support.Fake(ARGS.source)
        cls.serve = support.Serve(ARGS.ladder, write_policy(cls.folder, cls.fake.port), cls.folder)
        # The SDK appends /v1/messages itself and sends the key as x-api-key.
        cls.client = anthropic.Anthropic(base_url="http://127.0.0.1:%d" % cls.serve.port, api_key=cls.serve.key,
                                         max_retries=0, timeout=60)

    @classmethod
    def tearDownClass(cls):
        cls.serve.stop()
        cls.fake.stop()
        shutil.rmtree(cls.folder, ignore_errors=True)

    def setUp(self):
        self.fake.control("/_reset", {})

    def script_tool_then_answer(self, tool_id):
        self.fake.control("/_script", {"replies": [
            {"tool_calls": [{"id": tool_id, "name": "get_weather", "arguments": {"city": "Paris"}}]},
            {"text": ANSWER}]})

    def check_tool_use(self, message, tool_id):
        self.assertEqual(message.stop_reason, "tool_use")
        uses = [b for b in message.content if b.type == "tool_use"]
        self.assertEqual(len(uses), 1, message)
        self.assertEqual(uses[0].id, tool_id)
        self.assertEqual(uses[0].name, "get_weather")
        self.assertEqual(uses[0].input, {"city": "Paris"})
        return uses[0]

    def check_tool_result_reached_upstream(self, tool_id):
        posts = [p for p in self.fake.posts() if p["path"] == "/v1/messages"]
        self.assertEqual(len(posts), 2)
        second = posts[1]["body"]
        self.assertEqual(second["model"], "claude-fake-1")
        self.assertEqual(second["tools"], TOOLS)
        assistant, result = second["messages"][1], second["messages"][2]
        self.assertEqual(assistant["role"], "assistant")
        self.assertEqual([b["id"] for b in assistant["content"] if b["type"] == "tool_use"], [tool_id])
        self.assertEqual(result["role"], "user")
        self.assertEqual(result["content"][0]["type"], "tool_result")
        self.assertEqual(result["content"][0]["tool_use_id"], tool_id)
        self.assertEqual(result["content"][0]["content"], "sunny, 21 C")

    def test_tool_use_loop(self):
        self.script_tool_then_answer("toolu_plain_1")
        messages = [{"role": "user", "content": QUESTION}]
        raw = self.client.messages.with_raw_response.create(model="claude", max_tokens=256, tools=TOOLS,
                                                            messages=messages)
        self.assertEqual(raw.headers["x-ladder-route"], "pass_through")
        self.assertEqual(raw.headers["x-ladder-model"], "claude")
        first = raw.parse()
        use = self.check_tool_use(first, "toolu_plain_1")
        messages += [{"role": "assistant", "content": first.content},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                                   "content": "sunny, 21 C"}]}]
        final = self.client.messages.create(model="claude", max_tokens=256, tools=TOOLS, messages=messages)
        self.assertEqual(final.stop_reason, "end_turn")
        self.assertEqual([b.text for b in final.content if b.type == "text"], [ANSWER])
        self.assertGreater(final.usage.input_tokens, 0)
        self.check_tool_result_reached_upstream("toolu_plain_1")

    def test_streamed_tool_use_loop(self):
        self.script_tool_then_answer("toolu_stream_1")
        messages = [{"role": "user", "content": QUESTION}]
        with self.client.messages.stream(model="claude", max_tokens=256, tools=TOOLS, messages=messages) as stream:
            kinds = [event.type for event in stream]
            first = stream.get_final_message()
        self.assertIn("input_json", kinds)  # the SDK saw the arguments arrive in pieces
        use = self.check_tool_use(first, "toolu_stream_1")
        messages += [{"role": "assistant", "content": first.content},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                                   "content": "sunny, 21 C"}]}]
        with self.client.messages.stream(model="claude", max_tokens=256, tools=TOOLS, messages=messages) as stream:
            pieces = list(stream.text_stream)
            final = stream.get_final_message()
        self.assertEqual("".join(pieces), ANSWER)
        self.assertGreater(len(pieces), 2, "each upstream piece is its own event")
        self.assertEqual(final.stop_reason, "end_turn")
        self.check_tool_result_reached_upstream("toolu_stream_1")

    def test_routed_task_in_anthropic_shape(self):
        self.fake.control("/_answer", {"text": "the diff looks fine"})
        message = self.client.messages.create(model="ladder/review", max_tokens=100,
                                              messages=[{"role": "user", "content": "review auth.go"}])
        self.assertEqual(message.content[0].text, "the diff looks fine")
        self.assertEqual(message.model_extra["ladder"]["route"], "frontier")
        with self.client.messages.stream(model="ladder/review", max_tokens=100,
                                         messages=[{"role": "user", "content": "review auth.go"}]) as stream:
            text = "".join(stream.text_stream)
        self.assertEqual(text, "the diff looks fine")

    def test_errors_are_the_clients_own_exception_types(self):
        with self.assertRaises(anthropic.NotFoundError) as nf:
            self.client.messages.create(model="no-such-model", max_tokens=10, messages=[{"role": "user", "content": "x"}])
        self.assertEqual(nf.exception.body["error"]["type"], "not_found_error")
        with self.assertRaises(anthropic.BadRequestError) as bad:
            self.client.messages.create(model="claude", max_tokens=10, messages=[{"role": "user", "content": "x"}],
                                        extra_body={"temperature": 3})
        self.assertEqual(bad.exception.body["error"]["type"], "invalid_request_error")
        self.fake.control("/_fail", {"mode": "429", "count": 1, "retry_after": 30})
        with self.assertRaises(anthropic.RateLimitError) as limited:
            self.client.messages.create(model="claude", max_tokens=10, messages=[{"role": "user", "content": "x"}])
        self.assertEqual(limited.exception.response.headers["retry-after"], "30")
        wrong = anthropic.Anthropic(base_url="http://127.0.0.1:%d" % self.serve.port, api_key="sk-wrong",
                                    max_retries=0)
        with self.assertRaises(anthropic.AuthenticationError):
            wrong.messages.create(model="claude", max_tokens=10, messages=[{"role": "user", "content": "x"}])


if __name__ == "__main__":
    result = unittest.main(verbosity=2, exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)
