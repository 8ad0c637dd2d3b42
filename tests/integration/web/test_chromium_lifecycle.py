"""A chromium whose owning process is killed (no close(), no finalizer: a killed env actor) dies with it."""

import os
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.browser


def test_a_chromium_whose_owner_is_killed_does_not_outlive_it():
    script = ("import asyncio, sys\n"
              "from agentrl.environments.web.browser import ChromiumBrowser, started_profiles\n"
              "async def main():\n"
              "    b = ChromiumBrowser(); await b.start(); print(started_profiles()[0], flush=True)\n"
              "    await asyncio.sleep(60)\n"
              "asyncio.run(main())\n")
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        profile = child.stdout.readline().strip()
        assert profile, "the child did not start chromium"
        assert _pids_with(profile), "chromium of the child is not running"
    finally:
        child.kill()
        child.wait()
    deadline = time.monotonic() + 15
    while _pids_with(profile) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _pids_with(profile) == []


def _pids_with(marker):
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        with open(f"/proc/{entry}/stat") as s:
                            if s.read().rsplit(")", 1)[1].split()[0] != "Z":
                                pids.append(int(entry))
            except OSError:
                pass
    return pids
