"""An agent's tool-calling loop through `ladder serve` with the official OpenAI Python
client: the model asks for a tool, the agent runs it and sends the result back, the model
answers. Plain and streamed, against the fake upstream (an OpenAI-compatible server at
the network boundary) that ladder relays to as it is."""

import json
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_support as support  # noqa: E402

ARGS = support.parse_args()
openai = support.require("openai")

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def get_weather(city):
    return {"city": city, "celsius": 18}


def policy_text(port):
    url = "http://127.0.0.1:%d" % port
    return ("version: 1\nmodels:\n"
            "  agent:\n    backend: openai\n    base_url: %s\n    model: gpt-fake\n    retry: {max_retries: 0}\n"
            "  frontier:\n    backend: openai\n    base_url: %s\n    model: big\n    retry: {max_retries: 0}\n"
            "tiers:\n  - name: local\n    models: [agent]\n  - name: frontier\n    models: [frontier]\n"
            "tasks:\n  review:\n    kind: generate\n    local: false\n") % (url, url)


class OpenAIAgentLoopTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = support.temp_dir()
        cls.fake = support.Fake(ARGS.source)
        policy = os.path.join(cls.folder, "policy.yaml")
        with open(policy, "w") as f:
            f.write(policy_text(cls.fake.port))
        cls.serve = support.Serve(ARGS.ladder, policy, cls.folder)
        cls.client = openai.OpenAI(base_url=cls.serve.base_url, api_key=cls.serve.key, max_retries=0, timeout=60)

    @classmethod
    def tearDownClass(cls):
        cls.serve.stop()
        cls.fake.stop()
        shutil.rmtree(cls.folder, ignore_errors=True)

    def setUp(self):
        self.fake.control("/_reset", {})
        self.fake.control("/_script", {"replies": [
            {"tool_calls": [{"id": "call_paris", "name": "get_weather", "arguments": {"city": "Paris"}}]},
            {"text": "It is 18 C in Paris."}]})

    def run_loop(self, stream):
        messages = [{"role": "system", "content": "Use the tools."},
                    {"role": "user", "content": "What is the weather in Paris?"}]
        for _ in range(4):
            if stream:
                content, calls, finish = self.streamed_turn(messages)
            else:
                completion = self.client.chat.completions.create(
                    model="agent", messages=messages, tools=TOOLS, tool_choice="auto")
                choice = completion.choices[0]
                content, finish = choice.message.content, choice.finish_reason
                calls = [{"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
                         for c in choice.message.tool_calls or []]
            if finish != "tool_calls":
                return content, messages
            messages.append({"role": "assistant", "content": content, "tool_calls": [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                for c in calls]})
            for c in calls:
                self.assertEqual(c["name"], "get_weather")
                result = get_weather(**json.loads(c["arguments"]))
                messages.append({"role": "tool", "tool_call_id": c["id"], "content": json.dumps(result)})
        self.fail("the loop did not end")

    def streamed_turn(self, messages):
        content, calls, finish = "", {}, None
        for chunk in self.client.chat.completions.create(
                model="agent", messages=messages, tools=TOOLS, stream=True):
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            if choice.delta.content:
                content += choice.delta.content
            for d in choice.delta.tool_calls or []:
                call = calls.setdefault(d.index, {"id": None, "name": None, "arguments": ""})
                if d.id:
                    call["id"] = d.id
                if d.function and d.function.name:
                    call["name"] = d.function.name
                if d.function and d.function.arguments:
                    call["arguments"] += d.function.arguments
            if choice.finish_reason:
                finish = choice.finish_reason
        return content or None, [calls[i] for i in sorted(calls)], finish

    def check_upstream_saw_the_loop(self, stream):
        posts = [p for p in self.fake.posts() if p["path"] == "/v1/chat/completions"]
        self.assertEqual(len(posts), 2)
        first, second = posts[0]["body"], posts[1]["body"]
        self.assertEqual(first["model"], "gpt-fake")
        self.assertEqual(first["tools"], TOOLS)
        self.assertEqual(first.get("stream", False), stream)
        assistant, tool = second["messages"][2], second["messages"][3]
        self.assertEqual(assistant["tool_calls"][0]["id"], "call_paris")
        self.assertEqual(json.loads(assistant["tool_calls"][0]["function"]["arguments"]), {"city": "Paris"})
        self.assertEqual(tool, {"role": "tool", "tool_call_id": "call_paris",
                                "content": json.dumps(get_weather("Paris"))})

    def test_plain_agent_loop(self):
        answer, _ = self.run_loop(stream=False)
        self.assertEqual(answer, "It is 18 C in Paris.")
        self.check_upstream_saw_the_loop(stream=False)
        with open(self.serve.audit) as f:
            records = [json.loads(line) for line in f]
        relayed = [r for r in records if r.get("relayed")]
        self.assertGreaterEqual(len(relayed), 2)
        self.assertEqual(relayed[-2]["tool_calls"], 1)
        self.assertEqual(relayed[-1]["finish_reason"], "stop")

    def test_streamed_agent_loop(self):
        answer, _ = self.run_loop(stream=True)
        self.assertEqual(answer, "It is 18 C in Paris.")
        self.check_upstream_saw_the_loop(stream=True)

    def test_tool_message_without_its_call_id_is_a_bad_request(self):
        with self.assertRaises(openai.BadRequestError) as caught:
            self.client.chat.completions.create(model="agent", tools=TOOLS, messages=[
                {"role": "user", "content": "weather?"}, {"role": "tool", "content": "18 C"}])
        self.assertEqual(caught.exception.body["param"], "messages[1].tool_call_id")
        self.assertEqual(self.fake.posts(), [])


if __name__ == "__main__":
    unittest.main()
