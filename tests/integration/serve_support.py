"""Shared fixtures of the Python client tests: the fake frontier and `ladder serve` as
real processes on 127.0.0.1, with the example policy pointed at the fake."""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.request


def require(module_name):
    """Imports a client library; a missing one fails the test run loudly (no skip)."""
    try:
        return __import__(module_name)
    except ImportError as e:
        sys.stderr.write(
            "FAIL: the Python package '%s' is missing from %s (%s); run scripts/setup, which "
            "installs scripts/test-requirements.txt into .deps/venv\n" % (module_name, sys.executable, e))
        sys.exit(1)


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--ladder", required=True)
    p.add_argument("--source", required=True)
    args, rest = p.parse_known_args()
    sys.argv = [sys.argv[0]] + rest
    return args


class Fake:
    def __init__(self, source):
        self.proc = subprocess.Popen([sys.executable, os.path.join(source, "tests/fakes/fake_frontier.py")],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("PORT "), "fake frontier did not start: %r" % line
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def control(self, path, body):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200

    def requests(self):
        with urllib.request.urlopen(self.url + "/_requests", timeout=10) as r:
            return json.loads(r.read())

    def posts(self):
        return [r for r in self.requests() if r["method"] == "POST"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


QWEN_TIER = ("  # An answer of Gemma's that does not pass is asked again here before any escalation.\n"
             "  - name: local-qwen\n    local: true\n    models: [qwen-local]\n")


def first_local_tier(text):
    """The example policy with its first local tier alone (the Qwen tier of its ladder
    removed), as the C++ tests' example_policy_text; fails when the example changed."""
    start = text.index("  qwen-local:\n")
    end = text.index("  frontier:\n", start)
    text = text[:start] + text[end:]
    if QWEN_TIER not in text:
        raise ValueError("the example policy no longer holds the local-qwen tier")
    return text.replace(QWEN_TIER, "")


def example_policy(source, fake_url):
    """The example policy (first local tier) with its frontier at fake_url and its macro files found."""
    with open(os.path.join(source, "examples/maintainer/policy.yaml")) as f:
        text = first_local_tier(f.read())
    text = text.replace("http://127.0.0.1:8089", fake_url)
    return absolute_files(source, text)


def absolute_files(source, text):
    """The example's macro and calibration files by absolute path, so a copy works anywhere."""
    text = text.replace("calibration_file: calibration/",
                        "calibration_file: " + os.path.join(source, "examples/maintainer/calibration/"))
    return text.replace("macros/", os.path.join(source, "examples/maintainer/macros/"))


def write_policy(source, folder, fake_port):
    with open(os.path.join(source, "examples/maintainer/policy.yaml")) as f:
        text = first_local_tier(f.read())
    text = text.replace("http://127.0.0.1:8089", "http://127.0.0.1:%d" % fake_port)
    text = text.replace("../../models/gemma-3-270m-q4_k_m.gguf",
                        os.path.join(source, "models/gemma-3-270m-q4_k_m.gguf"))
    text = absolute_files(source, text)
    path = os.path.join(folder, "policy.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


class Serve:
    def __init__(self, ladder, policy, folder, extra=()):
        keys = os.path.join(folder, "keys.yaml")
        with open(keys, "w") as f:
            f.write("python-client: sk-python-client\n")
        self.audit = os.path.join(folder, "audit.jsonl")
        self.proc = subprocess.Popen(
            [ladder, "serve", "--policy", policy, "--port", "0", "--health-interval-ms", "0", "--api-keys-file", keys,
             "--audit", self.audit, "--max-body-bytes", "65536", *extra],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening on 127.0.0.1:"), "ladder serve did not start: %r" % line
        self.port = int(line.strip().rsplit(":", 1)[1])
        self.base_url = "http://127.0.0.1:%d/v1" % self.port
        self.key = "sk-python-client"

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def temp_dir():
    return tempfile.mkdtemp(prefix="ladder-py-")
