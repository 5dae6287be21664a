"""A small client of Chromium's DevTools protocol: starts Debian's `chromium` headless on a
free debugging port (nothing downloads a browser), opens one page, and drives it with
commands over a websocket (the `websockets` package of scripts/test-requirements.txt)."""

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import urllib.request


class CdpError(RuntimeError):
    pass


class Browser:
    def __init__(self, websockets_sync, width=1400, height=1000):
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if not exe:
            raise CdpError("Debian's chromium is not installed (scripts/setup installs it with apt)")
        self.profile = tempfile.mkdtemp(prefix="ladder-ui-chromium-")
        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--metrics-recording-only", "--remote-debugging-port=0",
             "--user-data-dir=" + self.profile, "--window-size=%d,%d" % (width, height), "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            self._connect(websockets_sync, width, height)
        except BaseException:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            shutil.rmtree(self.profile, ignore_errors=True)
            raise

    def _connect(self, websockets_sync, width, height):
        # Chromium says where its DevTools listen on stderr, once it does.
        port = None
        for line in self.proc.stderr:
            m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if m:
                port = int(m.group(1))
                break
        if port is None:
            raise CdpError("chromium exited before its DevTools listened")
        # Keep draining stderr so that chromium never blocks on a full pipe.
        self._drain = threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True)
        self._drain.start()
        with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=30) as r:
            pages = [t for t in json.loads(r.read()) if t["type"] == "page"]
        if not pages:
            raise CdpError("chromium opened no page")
        self.ws = websockets_sync.connect(pages[0]["webSocketDebuggerUrl"], max_size=None, open_timeout=30)
        self.next_id = 0
        self.events = []
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Log.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def send(self, method, params=None, timeout=120):
        self.next_id += 1
        mine = self.next_id
        self.ws.send(json.dumps({"id": mine, "method": method, "params": params or {}}))
        while True:
            msg = json.loads(self.ws.recv(timeout=timeout))
            if msg.get("id") == mine:
                if "error" in msg:
                    raise CdpError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_event(self, method, timeout=60):
        """The first recorded or arriving event named `method` (consumed)."""
        for i, e in enumerate(self.events):
            if e["method"] == method:
                return self.events.pop(i)
        while True:
            msg = json.loads(self.ws.recv(timeout=timeout))
            if msg.get("method") == method:
                return msg
            if "method" in msg:
                self.events.append(msg)

    def navigate(self, url):
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression, timeout=120):
        """The value of a JavaScript expression; promises are awaited."""
        r = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True,
                                           "timeout": timeout * 1000}, timeout=timeout + 5)
        if "exceptionDetails" in r:
            raise CdpError("page script failed: %s" % json.dumps(r["exceptionDetails"])[:2000])
        return r["result"].get("value")

    def wait_for(self, condition_js, timeout=120):
        """Resolves once `condition_js` is truthy: checked now and on every change to the
        document (a MutationObserver), never on a timer."""
        script = """new Promise((resolve, reject) => {
          const check = () => { try { return !!(%s); } catch (e) { return false; } };
          if (check()) return resolve(true);
          const obs = new MutationObserver(() => { if (check()) { obs.disconnect(); resolve(true); } });
          obs.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
        })""" % condition_js
        return self.evaluate(script, timeout=timeout)

    def screenshot(self, path):
        metrics = self.send("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        shot = self.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 6000), "scale": 1}})
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        return path

    def console_problems(self):
        """Errors the page logged (CSP violations among them) and uncaught exceptions."""
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(p["entry"].get("text", ""))
            elif e["method"] == "Runtime.exceptionThrown":
                out.append(json.dumps(p.get("exceptionDetails", {}))[:500])
            elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") == "error":
                out.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        return out

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self._drain.join(timeout=30)
            shutil.rmtree(self.profile, ignore_errors=True)
