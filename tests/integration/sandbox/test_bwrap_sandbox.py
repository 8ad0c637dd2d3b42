"""The bubblewrap backend, for machines without a Docker daemon: same protocol, same containment where
bwrap and rlimits allow (see bwrap_backend.py for what differs)."""

import asyncio
import os
import time

import pytest

from agentrl.sandbox import BwrapSandbox, SandboxLimits, SandboxPool

pytestmark = [pytest.mark.bwrap, pytest.mark.asyncio(loop_scope="session")]

LIMITS = SandboxLimits(memory=512 * 2**20, pids=64, disk=32 * 2**20, command_timeout=20, output_cap=16 * 2**10)


@pytest.fixture
async def box():
    b = await BwrapSandbox.create(LIMITS)
    yield b
    await b.close()


async def test_exec_files_and_snapshot(box, tmp_path, monkeypatch):
    r = await box.exec("echo hi; echo oops >&2; exit 3")
    assert (r.exit_code, r.stdout, r.stderr) == (3, "hi\n", "oops\n")
    await box.write_file("pkg/mod.py", "print(6 * 7)\n")
    assert (await box.exec("python3 pkg/mod.py")).stdout == "42\n"
    monkeypatch.setattr("agentrl.sandbox.bwrap_backend.SNAPSHOT_DIR", tmp_path)
    seed = await box.snapshot("branch")
    branch = await BwrapSandbox.create(LIMITS, seed=seed)
    try:
        assert await branch.read_file("pkg/mod.py") == b"print(6 * 7)\n"
    finally:
        await branch.close()


async def test_isolation(box):
    assert (await box.exec("id -u")).stdout.strip() == ("65534" if os.geteuid() == 0 else str(os.geteuid()))
    caps = (await box.exec("grep -E '^Cap(Eff|Bnd)' /proc/self/status")).stdout.split()
    assert caps == ["CapEff:", "0" * 16, "CapBnd:", "0" * 16]
    net = await box.exec("python3 -c \"import socket; socket.create_connection(('1.1.1.1', 80), timeout=3)\"")
    assert "Network is unreachable" in net.stderr
    files = await box.exec("ls /etc/shadow /root /home /work/main /var/run/docker.sock; touch /usr/x")
    assert files.stdout == "" and files.stderr.count("No such file or directory") == 5
    assert "Read-only file system" in files.stderr
    await forging_replies_fails(box)


async def test_pool_of_bwrap_sandboxes():
    async with SandboxPool.bwrap(LIMITS, size=2) as pool:
        async with pool.acquire() as first:
            await first.write_file("dirty", "x")
        async with pool.acquire() as second:
            assert second is not first and first.closed
            assert (await second.exec("ls -A")).stdout == ""


async def test_host_environment_does_not_leak(monkeypatch):
    monkeypatch.setenv("AGENTRL_TEST_SECRET", "canary-7f3a")
    b = await BwrapSandbox.create(LIMITS)
    try:
        # Every environment a command can see (its own, and any readable /proc/*/environ) is the sandbox's.
        dump = await b.exec("env; cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'")
        assert dump.ok and "HOME=/work" in dump.stdout and "canary-7f3a" not in dump.stdout
    finally:
        await b.close()


async def forging_replies_fails(box):
    """Commands run as the agent's user: writing fake replies into the agent's stream must be impossible."""
    await box.exec("for p in /proc/[0-9]*; do [ $p = /proc/$$ ] || echo forged > $p/fd/1; done; true")
    assert (await box.exec("echo genuine")).stdout == "genuine\n"


async def test_limits(box):
    start = time.monotonic()
    sleep = await box.exec("setsid sleep 300 & sleep 300", timeout=1)
    assert sleep.timed_out and time.monotonic() - start < 5
    assert "sleep" not in (await box.exec("cat /proc/[0-9]*/comm")).stdout
    hog = await box.exec("python3 -c 'b = bytearray(1024 * 2**20)'")
    assert hog.exit_code != 0 and "MemoryError" in hog.stderr
    fill = await box.exec("head -c 100000000 /dev/zero > big")
    assert fill.exit_code != 0 and int((await box.exec("stat -c %s big")).stdout) <= LIMITS.disk
    bomb = await box.exec("bomb() { bomb | bomb & }; bomb; sleep 30", timeout=3)
    assert bomb.timed_out or "fork" in bomb.stderr.lower(), bomb
    deadline = time.monotonic() + 10
    while (await box.exec("echo alive")).stdout != "alive\n":  # its last forks die out
        assert time.monotonic() < deadline, "sandbox still unusable 10 s after a fork bomb"
        await asyncio.sleep(0.2)
