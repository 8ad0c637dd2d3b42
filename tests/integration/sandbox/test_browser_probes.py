"""Escape probes for the browser (environments/web/chromium.py): a page the agent drives may not read
host files, reach anything off loopback, or drop downloads on the host. docs/sandbox.md has the table.

The page is served by the test on 127.0.0.1; its off-loopback targets are TEST-NET-1 addresses only
(192.0.2.1), never a hostname (no DNS lookup can start) and never a reachable address.
"""

import http.server
import os
import threading
import uuid
from pathlib import Path

import pytest

from agentrl.environments.web.chromium import ChromiumBrowser

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

SECRET = f"download-{uuid.uuid4().hex}"
PAGE = """<html><title>probe</title><body>
<img src="http://192.0.2.1/pixel.png"><iframe src="file:///etc/hostname"></iframe>
<a id="dl" href="/file.txt" download="agentrl-probe.txt">download</a>
<script>
window.results = {};
const tryFetch = async (name, url) => {
  try { const r = await fetch(url); window.results[name] = "read " + (await r.text()).slice(0, 40); }
  catch (e) { window.results[name] = "blocked"; }
};
window.done = Promise.all([tryFetch("file", "file:///etc/hostname"), tryFetch("off_host", "http://192.0.2.1/"),
                           tryFetch("off_host_v6", "http://[2001:db8::1]/")]);
</script></body></html>"""


@pytest.fixture(scope="module")
def site():
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = PAGE.encode() if self.path == "/" else SECRET.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html" if self.path == "/" else "application/octet-stream")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/", hits
    server.shutdown()


@pytest.fixture(scope="module")
async def browser():
    b = ChromiumBrowser()
    yield b
    await b.close()


async def test_browser_cannot_read_file_urls(browser, site):
    url, _ = site
    await browser.reset(url)
    await browser.page.evaluate("() => window.done")
    results = await browser.page.evaluate("() => window.results")
    assert results["file"] == "blocked", results  # Chromium refuses local resources to an http page
    with pytest.raises(Exception, match="not on loopback"):
        await browser.reset("file:///etc/hostname")


async def test_browser_requests_stay_on_loopback(browser, site):
    url, _ = site
    await browser.reset(url)
    await browser.page.evaluate("() => window.done")
    results = await browser.page.evaluate("() => window.results")
    assert results["off_host"] == "blocked" and results["off_host_v6"] == "blocked", results
    assert {u.split("/")[2] for u in browser.blocked if u.startswith("http")} == {"192.0.2.1", "[2001:db8::1]"}
    with pytest.raises(Exception, match="not on loopback"):
        await browser.reset("http://192.0.2.1/")


def files_holding(secret: str) -> list[str]:
    """Files under the places a browser download could land that contain `secret`."""
    found = []
    for place in (Path.home() / "Downloads", Path.cwd(), Path("/tmp")):
        for root, dirs, files in os.walk(place):
            dirs[:] = [d for d in dirs if root.count(os.sep) - str(place).count(os.sep) < 2]  # two levels
            for name in files:
                path = os.path.join(root, name)
                try:
                    if os.path.getsize(path) == len(secret) and Path(path).read_text(errors="ignore") == secret:
                        found.append(path)
                except OSError:
                    pass
    return found


async def test_browser_downloads_do_not_land_on_the_host(browser, site):
    url, hits = site
    await browser.reset(url)
    await browser.page.click("#dl")
    await browser.page.wait_for_timeout(1000)
    assert "/file.txt" in hits  # the download really happened
    during = files_holding(SECRET)  # Playwright keeps it in its own temporary folder while the context lives
    assert all(Path(p).parent.name.startswith("playwright-artifacts-") for p in during), during
    await browser.reset(url)  # the next episode's fresh context
    assert files_holding(SECRET) == [], "a page's download outlived its episode on the host"
