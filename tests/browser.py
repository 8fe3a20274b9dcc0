"""A small headless-Chromium driver over the DevTools protocol, for pages that need a login or must be
watched while they load: every request the page makes, every console error and uncaught exception,
the rendered text, and a screenshot. Hosts other than loopback resolve to nothing, so a page that
tries to reach the internet fails loudly here instead of silently working on a connected machine."""
from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    def __init__(self, width: int = 1440, height: int = 1000):
        from websockets.sync.client import connect
        self.profile = Path(tempfile.mkdtemp(prefix="chromium-"))
        port = _free_port()
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
             f"--user-data-dir={self.profile}", f"--remote-debugging-port={port}",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                    targets = [t for t in json.loads(r.read()) if t["type"] == "page"]
                if targets:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                self.close()
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.3)
        self.ws = connect(targets[0]["webSocketDebuggerUrl"], max_size=None, open_timeout=30)
        self.width, self.height = width, height
        self._id = 0
        self.requests: list[str] = []
        self.errors: list[str] = []
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    # -- protocol
    def _event(self, msg: dict) -> None:
        m, p = msg.get("method"), msg.get("params", {})
        if m == "Network.requestWillBeSent":
            self.requests.append(p["request"]["url"])
        elif m == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            self.errors.append("exception: " + (d.get("exception", {}).get("description") or d.get("text", "")))
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.errors.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
        elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
            self.errors.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")

    def call(self, method: str, timeout: float = 60, **params) -> dict:
        self._id += 1
        mid = self._id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        deadline = time.time() + timeout
        while True:
            msg = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.time())))
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._event(msg)

    def pump(self, seconds: float) -> None:
        end = time.time() + seconds
        while time.time() < end:
            try:
                self._event(json.loads(self.ws.recv(timeout=max(0.05, end - time.time()))))
            except TimeoutError:
                break

    def evaluate(self, expression: str):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(r["exceptionDetails"])
        return r["result"].get("value")

    # -- user actions
    def goto(self, url: str, settle: float = 1.0) -> None:
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'", timeout=60)
        self.pump(settle)

    def wait_for(self, expression: str, timeout: float = 60) -> bool:
        end = time.time() + timeout
        while time.time() < end:
            try:
                if self.evaluate(expression):
                    return True
            except RuntimeError:
                pass
            self.pump(0.5)
        return False

    def text(self) -> str:
        return self.evaluate("document.body ? document.body.innerText : ''") or ""

    def full_height(self) -> int:
        """The content's height, including what scrolls inside a full-height container."""
        return int(self.evaluate("Math.max(document.body.scrollHeight, document.documentElement.scrollHeight, "
                                 "...[...document.querySelectorAll('*')].filter(e => e.scrollHeight > e.clientHeight + 50 "
                                 "&& getComputedStyle(e).overflowY !== 'visible').map(e => e.scrollHeight))") or 0)

    def screenshot(self, png: Path, full_page: bool = True, max_height: int = 8000, settle: str | None = None,
                   bottom_of: str | None = None) -> None:
        """A PNG of the page. For the whole page the window is made as tall as the content first (pages
        that re-lay themselves out on resize then render at that size), ``settle`` is awaited, and only
        then is the picture taken."""
        png.parent.mkdir(parents=True, exist_ok=True)
        if full_page:
            full = self.full_height()
            if bottom_of:       # the page ends below the last of these elements, whatever scrolls around them
                full = int(self.evaluate(f"Math.max(...[...document.querySelectorAll({json.dumps(bottom_of)})]"
                                         ".map(e => e.getBoundingClientRect().bottom + window.scrollY)) + 24") or full)
            height = min(max(full, self.height), max_height)
            self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=height, deviceScaleFactor=1,
                      mobile=False)
            self.pump(1.5)
            if settle:
                self.wait_for(settle, timeout=120)
            self.pump(1.5)
        data = self.call("Page.captureScreenshot", format="png")["data"]
        png.write_bytes(base64.b64decode(data))
        if full_page:
            self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height, deviceScaleFactor=1,
                      mobile=False)

    def external_requests(self) -> list[str]:
        local = ("http://127.0.0.1", "http://localhost", "data:", "blob:", "about:", "chrome", "devtools:")
        return [u for u in self.requests if not u.startswith(local)]

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
