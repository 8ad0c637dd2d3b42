"""The Docker backend against a real engine: the protocol works and the escape suite is contained."""

import asyncio
import subprocess
import time

import pytest

from agentrl.sandbox import DockerSandbox, EpisodeTimeoutError, SandboxLimits

from .conftest import LIMITS
from .test_bwrap_sandbox import forging_replies_fails

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="session")]


async def test_exec_read_write(pool):
    async with pool.acquire() as box:
        r = await box.exec("echo hi; echo oops >&2; exit 3")
        assert (r.exit_code, r.stdout, r.stderr) == (3, "hi\n", "oops\n")
        await box.write_file("pkg/mod.py", "print(6 * 7)\n")
        assert (await box.exec("python3 pkg/mod.py")).stdout == "42\n"
        assert await box.read_file("/work/pkg/mod.py") == b"print(6 * 7)\n"
        with pytest.raises(FileNotFoundError):
            await box.read_file("missing.txt")
        big = await box.exec("seq 1 100000")
        assert big.stdout_truncated and len(big.stdout) == LIMITS.output_cap


async def test_not_root_and_no_capabilities(pool):
    async with pool.acquire() as box:
        assert (await box.exec("id -u")).stdout.strip() == "65534"
        status = (await box.exec("grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs)' /proc/self/status")).stdout
        assert status.split() == ["CapPrm:", "0" * 16, "CapEff:", "0" * 16, "CapBnd:", "0" * 16, "NoNewPrivs:", "1"]


async def test_no_network(pool):
    async with pool.acquire() as box:
        assert (await box.exec("ls /sys/class/net")).stdout.split() == ["lo"]
        probe = ("import socket\nfor host in ('1.1.1.1', '10.0.0.1', '172.17.0.1'):\n"
                 "    try:\n        socket.create_connection((host, 80), timeout=3); print('CONNECTED', host)\n"
                 "    except OSError as e:\n        print(host, e.errno)\n")
        r = await box.exec(f"python3 -c \"{probe}\"")
        assert "CONNECTED" not in r.stdout
        assert r.stdout.split() == ["1.1.1.1", "101", "10.0.0.1", "101", "172.17.0.1", "101"]  # ENETUNREACH


async def test_host_files_are_out_of_reach(pool):
    async with pool.acquire() as box:
        r = await box.exec("cat /etc/shadow; ls /work/main /var/run/docker.sock /root; touch /etc/x /usr/x")
        assert r.exit_code != 0 and r.stdout == ""
        for expected in ("/etc/shadow: Permission denied", "/work/main': No such file",
                         "docker.sock': No such file", "/etc/x': Read-only file system"):
            assert expected in r.stderr
        await forging_replies_fails(box)


async def test_fork_bomb_is_contained(pool):
    async with pool.acquire() as box:
        r = await box.exec("bomb() { bomb | bomb & }; bomb; sleep 30", timeout=3)
        assert r.timed_out or "Cannot fork" in r.stderr, r
        # The kernel refused forks past the limit, and the bomb never held more than the limit.
        d = "d=/sys/fs/cgroup/pids; [ -d $d ] || d=/sys/fs/cgroup; cat $d/pids.max $d/pids.peak $d/pids.events"
        limit, peak, _, refused = (await box.exec(d)).stdout.split()
        assert int(limit) == LIMITS.pids and int(peak) <= LIMITS.pids and int(refused) > 0
        deadline = time.monotonic() + 10
        while int((await box.exec("ls /proc | grep -c '^[0-9]'")).stdout) > 5:  # its last forks die out
            assert time.monotonic() < deadline, "fork bomb still running 10 s after the command"
            await asyncio.sleep(0.2)


async def test_memory_hog_is_killed_and_the_sandbox_survives(pool):
    async with pool.acquire() as box:
        r = await box.exec("python3 -c 'b = bytearray(1024 * 2**20); print(len(b))'")
        assert r.exit_code == 137 or "MemoryError" in r.stderr, r
        assert (await box.exec("echo alive")).stdout == "alive\n"


async def test_disk_fill_is_bounded(pool):
    async with pool.acquire() as box:
        r = await box.exec("dd if=/dev/zero of=/work/fill bs=1M count=200")
        assert r.exit_code != 0 and "No space left on device" in r.stderr
        size = int((await box.exec("stat -c %s /work/fill")).stdout)
        assert size <= LIMITS.disk


async def test_long_sleep_is_killed_with_its_escaped_children(pool):
    async with pool.acquire() as box:
        start = time.monotonic()
        r = await box.exec("setsid sleep 300 & nohup sleep 300 & sleep 300", timeout=1)
        assert r.timed_out and r.exit_code == 124 and time.monotonic() - start < 5
        assert (await box.exec("ls /proc/*/cmdline | wc -l; cat /proc/[0-9]*/comm")).stdout.count("sleep") == 0


async def test_episode_wall_clock(docker_ready):
    box = await DockerSandbox.create(limits=SandboxLimits(episode_timeout=2.0))
    try:
        r = await box.exec("sleep 30", timeout=30)
        assert r.timed_out and r.duration < 4
        with pytest.raises(EpisodeTimeoutError):
            await box.exec("true")
    finally:
        await box.close()
        await box.close()  # idempotent


async def test_snapshot_branches_share_a_prefix(pool):
    async with pool.acquire() as box:
        await box.write_file("state.txt", "prefix\n")
        image = await box.snapshot("test-branch")
    try:
        branches = await asyncio.gather(*(DockerSandbox.create(image, LIMITS) for _ in range(2)))
        try:
            await branches[0].exec("echo left >> state.txt")
            await branches[1].exec("echo right >> state.txt")
            texts = [await b.read_file("state.txt") for b in branches]
            assert texts == [b"prefix\nleft\n", b"prefix\nright\n"]
        finally:
            await asyncio.gather(*(b.close() for b in branches))
    finally:
        subprocess.run(["docker", "rmi", "-f", image], capture_output=True, check=False)  # noqa: ASYNC221
