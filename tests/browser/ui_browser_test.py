"""The web UI in a real browser: `ladder serve` (the example policy, the real local model,
the SQLite store beside the policy, the fake frontier at the network boundary) driven by
Debian's headless chromium over the DevTools protocol. It checks the API's guards over
plain HTTP, signs in, loads each page, checks that the dashboard's charts have data
points, filters and opens a decision, reviews it, routes one request in the playground
(streamed stage by stage), and saves a screenshot of each page.

Run: .deps/venv/bin/python tests/browser/ui_browser_test.py --ladder build/ladder \
       --source . --artifacts build/test-artifacts/ui
"""

import http.client
import shutil
import subprocess
import urllib.request
import json
import os
import sys
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from serve_support import Fake, Serve, require, temp_dir, write_policy  # noqa: E402
from cdp import Browser  # noqa: E402


def parse_args():
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--ladder", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--artifacts", required=True)
    a, rest = p.parse_known_args()
    sys.argv = [sys.argv[0]] + rest
    return a


ARGS = parse_args()
require("websockets")  # a missing package fails loudly
import websockets.sync.client as websockets_sync_client  # noqa: E402

ADMIN = "admin-token-for-the-ui-test"
LOGS = [
    "src/widget.c:57:9: error: 'count' undeclared (first use in this function)\nmake: *** [Makefile:12: widget.o] Error 1",
    "FAIL src/cart/total.test.js\n  expected 42 but received 41\nTests: 1 failed, 120 passed",
    "ERROR: No matching distribution found for pandas==9.1\npip: could not resolve the requested version",
    "error[E0308]: mismatched types\n  --> src/ledger.rs:40:17\nexpected `u32`, found `&str`\n"
    "error: could not compile `ledger` due to previous error",
    "remote: Permission to acme/widgets.git denied to ci-bot.\nfatal: unable to access: The requested URL returned error: 403",
    "Build step 'Execute shell' marked build as failure\nFinished: FAILURE",
]
# Charts that the seeded decisions must give points to (the others need macros or
# validator failures, which these inputs may not produce).
CHARTS_WITH_DATA = ["Local acceptance rate", "Escalation rate by task", "Cost per successful task", "Cost and saving",
                    "Escalations by reason per task", "Latency per stage", "Local answer defect rate",
                    "Reliability diagram", "Argument drift"]
STALE_REQUEST = "Find issues in acme/checkout with no activity for 90 days and label them stale"


class FakeGithub:
    """tests/fakes/fake_github.py: the GitHub API at the network boundary, for macros."""

    def __init__(self, source):
        self.proc = subprocess.Popen([sys.executable, os.path.join(source, "tests/fakes/fake_github.py")],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("PORT "), "fake GitHub did not start: %r" % line
        self.url = "http://127.0.0.1:%d" % int(line.split()[1])

    def requests(self):
        with urllib.request.urlopen(self.url + "/_requests", timeout=10) as r:
            return json.loads(r.read())

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class UiBrowserTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.environ["ANTHROPIC_API_KEY"] = "sk-ant-test-key-not-secret"
        os.environ["LADDER_UI_TEST_ADMIN"] = ADMIN
        # Each process is stopped even when a later step of the set-up fails.
        cls.fake = Fake(ARGS.source)
        cls.addClassCleanup(cls.fake.stop)
        cls.github = FakeGithub(ARGS.source)
        cls.addClassCleanup(cls.github.stop)
        os.environ["LADDER_GITHUB_API_URL"] = cls.github.url
        cls.folder = temp_dir()
        cls.addClassCleanup(shutil.rmtree, cls.folder, True)
        policy = write_policy(ARGS.source, cls.folder, cls.fake.port)
        # One decode thread: on a machine whose other core is busy (a shared CI box), two
        # threads wait on each other at every step and the local model misses its timeout.
        with open(policy) as f:
            text = f.read()
        with open(policy, "w") as f:
            f.write(text.replace("    threads: 2\n", "    threads: 1\n", 1))
        cls.serve = Serve(ARGS.ladder, policy, cls.folder, extra=["--admin-token-env", "LADDER_UI_TEST_ADMIN"])
        cls.addClassCleanup(cls.serve.stop)
        cls.host = "127.0.0.1:%d" % cls.serve.port
        cls.base = "http://" + cls.host
        for log in LOGS:
            status, _, body = cls.call("POST", "/v1/route", {"task": "classify_issue", "input": log},
                                       token=cls.serve.key)
            assert status == 200, body
        # A request the local model routes to a macro (dry run: nothing written), so that
        # argument drift has values.
        status, _, body = cls.call("POST", "/v1/run", {"request": STALE_REQUEST, "dry_run": True}, token=cls.serve.key)
        assert status == 200 and body.get("run"), body
        # One local answer reviewed over the API, so the reliability diagram and the
        # defect rate have a point before the browser opens the dashboard.
        status, _, page = cls.call("GET", "/ui/api/decisions?route=local&limit=5")
        assert status == 200, page
        cls.local_ids = [d["id"] for d in page["decisions"]]
        assert cls.local_ids, "the local model accepted none of the seeded logs: %s" % page
        status, _, body = cls.call("POST", "/ui/api/decisions/%d/review" % cls.local_ids[0],
                                   {"label": "accept", "note": "seeded by the browser test"})
        assert status == 200, body
        cls.browser = Browser(websockets_sync_client)
        cls.addClassCleanup(cls.browser.close)
        cls.shots = []

    @classmethod
    def call(cls, method, path, body=None, token=ADMIN, headers=None, raw=None):
        conn = http.client.HTTPConnection(cls.host, timeout=300)
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        text = r.read()
        conn.close()
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text.decode(errors="replace")
        return r.status, {k.lower(): v for k, v in r.getheaders()}, parsed

    def shot(self, name):
        path = self.browser.screenshot(os.path.join(ARGS.artifacts, name + ".png"))
        self.assertGreater(os.path.getsize(path), 10000, path)
        self.shots.append(path)

    def open_page(self, hash_):
        self.browser.evaluate("location.hash = %s; true" % json.dumps(hash_))
        self.browser.wait_for("document.getElementById('main').dataset.ready === '1' && "
                              "document.getElementById('main').dataset.page === %s" % json.dumps(hash_.split("/")[0]))
        errors = self.browser.evaluate("[...document.querySelectorAll('#main [data-error]')].map(e => e.textContent)")
        self.assertEqual(errors, [], hash_)

    # ---- over plain HTTP: what only a client with its own headers can send --------------
    # (every other bad input of the API: tests/ui/ui_serve_test.cpp)
    def test_0_api_guards(self):
        status, h, body = self.call("GET", "/ui/", token=None)
        self.assertEqual(status, 200)
        self.assertTrue(h["content-type"].startswith("text/html"))
        self.assertTrue(h["content-security-policy"].startswith("default-src 'self'"))
        self.assertEqual(h["x-frame-options"], "DENY")
        self.assertEqual(h["x-content-type-options"], "nosniff")
        status, _, body = self.call("GET", "/ui/api/meta", token=None)
        self.assertEqual((status, body["error"]["code"]), (401, "unauthenticated"))
        review = "/ui/api/decisions/%d/review" % self.local_ids[0]
        # What a cross-site form could send without a preflight: refused.
        for form_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]:
            status, _, body = self.call("POST", review, raw=b'{"label":"defect"}', headers={"Content-Type": form_type})
            self.assertEqual((status, body["error"]["param"]), (400, "Content-Type"), form_type)
        status, _, d = self.call("GET", "/ui/api/decisions/%d" % self.local_ids[0])
        self.assertEqual(d["review"]["label"], "accept", "a refused request changed the review")

    # ---- the pages in chromium ------------------------------------------------------------
    def test_1_sign_in_and_dashboard(self):
        b = self.browser
        b.navigate(self.base + "/ui/")
        b.wait_for("document.getElementById('signin-form')")
        self.shot("signin")
        b.evaluate("document.getElementById('signin-token').value = %s; "
                   "document.getElementById('signin-form').requestSubmit(); true" % json.dumps(ADMIN))
        b.wait_for("document.getElementById('main').dataset.ready === '1' && "
                   "document.getElementById('main').dataset.page === 'dashboard'")
        # The token is in sessionStorage, never in a cookie.
        self.assertEqual(b.evaluate("sessionStorage.getItem('ladder.token')"), ADMIN)
        self.assertEqual(b.evaluate("document.cookie"), "")
        points = b.evaluate("Object.fromEntries([...document.querySelectorAll('[data-chart]')].map("
                            "c => [c.dataset.chart, c.querySelectorAll('[data-point]').length]))")
        print("dashboard data points per chart:", json.dumps(points), flush=True)
        for chart in CHARTS_WITH_DATA:
            self.assertGreater(points.get(chart, 0), 0, "chart '%s' has no data points: %s" % (chart, points))
        decisions = b.evaluate("document.querySelector('[data-metric=decisions] .v').textContent")
        self.assertGreaterEqual(int(decisions), len(LOGS))
        self.shot("dashboard")

    def test_2_decisions_filter_and_detail(self):
        b = self.browser
        self.open_page("decisions")
        rows = b.evaluate("document.querySelectorAll('#decision-table tbody tr').length")
        self.assertGreaterEqual(rows, len(LOGS))
        self.shot("decisions")
        # Filter by route through the form, as a person would.
        b.evaluate("document.getElementById('route').value = 'frontier'; "
                   "document.getElementById('decision-filters').requestSubmit(); true")
        b.wait_for("location.hash.includes('route=frontier') && document.getElementById('main').dataset.ready === '1'")
        routes = b.evaluate("[...document.querySelectorAll('#decision-table tbody tr td:nth-child(4)')]"
                            ".map(td => td.textContent)")
        self.assertTrue(routes, "no escalated decision among the seeded ones")
        self.assertEqual(set(routes), {"frontier"})
        # Open one escalated decision: its whole path.
        b.evaluate("document.querySelector('#decision-table tbody tr').click(); true")
        b.wait_for("document.getElementById('main').dataset.page === 'decision' && "
                   "document.getElementById('main').dataset.ready === '1'")
        steps = b.evaluate("[...document.querySelectorAll('#decision-path [data-step]')].map(s => s.dataset.step)")
        self.assertEqual(steps, ["screen", "reduce", "local", "validators", "tiers", "escalation"])
        self.assertIn('"reason"', b.evaluate("document.getElementById('escalation-packet').textContent"))
        tiers = b.evaluate("document.querySelectorAll('#decision-path [data-step=tiers] tbody tr').length")
        self.assertGreaterEqual(tiers, 1)
        self.shot("decision")

    def test_3_review_in_the_ui(self):
        b = self.browser
        target = self.local_ids[-1]
        self.open_page("decision/%d" % target)
        b.evaluate("document.getElementById('review-note').value = 'wrong label, says the browser test'; "
                   "document.getElementById('review-defect').click(); true")
        b.wait_for("document.getElementById('review-status').dataset.label === 'defect'")
        status, _, d = self.call("GET", "/ui/api/decisions/%d" % target)
        self.assertEqual(status, 200)
        self.assertEqual(d["review"], {"label": "defect", "note": "wrong label, says the browser test"})
        self.shot("review")

    def test_4_playground_routes_one_request(self):
        b = self.browser
        self.open_page("playground")
        b.evaluate("document.getElementById('pg-task').value = 'classify_issue'; "
                   "document.getElementById('pg-input').value = %s; "
                   "document.getElementById('pg-form').requestSubmit(); true" % json.dumps(LOGS[2]))
        b.wait_for("document.getElementById('pg-steps').dataset.done === '1'")
        stages = b.evaluate("[...document.querySelectorAll('#pg-steps [data-stage]')].map(s => s.dataset.stage)")
        print("playground stages:", stages, flush=True)
        self.assertEqual(stages[0], "screen")
        self.assertEqual(stages[-1], "decision")
        self.assertIn("local", stages)
        self.assertIn("validate", stages)
        self.assertEqual(b.evaluate("document.querySelectorAll('#pg-steps [data-error]').length"), 0)
        self.shot("playground")

    def test_5_playground_plans_approves_and_runs_a_macro(self):
        b = self.browser
        self.open_page("playground")
        b.evaluate("document.getElementById('pg-input').value = %s; "
                   "document.getElementById('pg-macro').click(); true" % json.dumps(STALE_REQUEST))
        b.wait_for("document.getElementById('pg-steps').dataset.done === '1'")
        self.assertEqual(b.evaluate("document.querySelectorAll('#pg-steps [data-error]').length"), 0)
        self.assertTrue(b.evaluate("!!document.querySelector('#pg-steps [data-stage=run-dry_run]')"))
        self.assertFalse([r for r in self.github.requests() if r["method"] != "GET"], "the plan wrote something")
        self.shot("playground-plan")
        b.evaluate("document.getElementById('approve-run').click(); true")
        b.wait_for("document.querySelector('#pg-steps [data-stage=run-ok]') || "
                   "document.querySelector('#pg-steps [data-error]')")
        self.assertEqual(b.evaluate("document.querySelectorAll('#pg-steps [data-error]').length"), 0)
        writes = [r for r in self.github.requests() if r["method"] != "GET"]
        self.assertTrue(writes, "the approved run wrote nothing to GitHub")
        self.shot("playground-run")

    def test_6_stream_arrives_stage_by_stage(self):
        conn = http.client.HTTPConnection(self.host, timeout=300)
        conn.request("POST", "/ui/api/playground/route", body=json.dumps({"task": "classify_issue", "input": LOGS[0]}),
                     headers={"Authorization": "Bearer " + ADMIN, "Content-Type": "application/json"})
        r = conn.getresponse()
        self.assertEqual(r.status, 200)
        self.assertTrue(r.getheader("Content-Type").startswith("text/event-stream"))
        self.assertIn("default-src 'self'", r.getheader("Content-Security-Policy"))
        events, name = [], None
        while True:
            line = r.fp.readline()
            if not line:
                break
            line = line.decode().rstrip("\r\n")
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line[5:]), time.monotonic()))
        conn.close()
        names = [n if n != "stage" else d["stage"] for n, d, _ in events]
        self.assertEqual(names[:2], ["start", "screen"])
        self.assertEqual(names[-1], "decision")
        arrived = {n: t for n, (_, _, t) in zip(names, events)}
        final = events[-1][1]["decision"]
        local_ms = final["stages_ms"].get("local", 0)
        # Streamed, not buffered: the screen event came while the local model still ran.
        if local_ms > 200:
            self.assertGreater(arrived["decision"] - arrived["screen"], 0.5 * local_ms / 1000.0, names)

    def test_7_no_console_errors(self):
        problems = self.browser.console_problems()
        self.assertEqual(problems, [], "the page logged errors (a CSP violation shows here)")


if __name__ == "__main__":
    unittest.main(verbosity=2)
