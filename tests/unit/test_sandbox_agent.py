"""The in-sandbox agent and its host channel, run as a plain local subprocess (no isolation needed to test
the protocol, timeouts, output caps and file ops; the isolation itself is tested in tests/integration/sandbox)."""

import asyncio
import os
import sys
import time

import pytest

from agentrl.sandbox.agent_sandbox import AgentSandbox
from agentrl.sandbox.base import EpisodeTimeoutError, SandboxBrokenError, SandboxClosedError, SandboxLimits
from agentrl.sandbox.channel import AGENT_SOURCE, AgentChannel

# The project runs async fixtures on the session loop; the tests must share it.
pytestmark = pytest.mark.asyncio(loop_scope="session")


class LocalAgent(AgentSandbox):
    """The real agent in a local subprocess: a test double for a backend's transport only."""

    @classmethod
    async def start(cls, workdir, limits=SandboxLimits()):  # noqa: B008
        env = {**os.environ, "AGENTRL_WORKDIR": str(workdir)}  # no AGENTRL_PIDNS: never kill(-1) here
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", AGENT_SOURCE, stdin=asyncio.subprocess.PIPE,
                                                    stdout=asyncio.subprocess.PIPE, env=env)
        box = cls(AgentChannel(proc.stdout.readexactly, proc.stdin, lambda: "local"), limits, str(workdir), "local")
        box.proc = proc
        return box

    async def snapshot(self, tag):
        return await self._tar_workdir()

    async def close(self):
        self.closed = True
        self._channel.close()
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()


@pytest.fixture
async def box(tmp_path):
    b = await LocalAgent.start(tmp_path, SandboxLimits(output_cap=1000, command_timeout=5))
    yield b
    await b.close()


async def test_exec_reports_exit_code_and_both_streams(box):
    r = await box.exec("echo out; echo err >&2; exit 7")
    assert (r.exit_code, r.stdout, r.stderr, r.ok) == (7, "out\n", "err\n", False)
    assert not r.timed_out and r.duration > 0


async def test_output_is_capped_with_flags(box):
    r = await box.exec("head -c 5000 /dev/zero | tr '\\0' a; head -c 10 /dev/zero | tr '\\0' b >&2", output_cap=100)
    assert r.stdout == "a" * 100 and r.stdout_truncated
    assert r.stderr == "b" * 10 and not r.stderr_truncated


async def test_timeout_kills_the_command_group(box, tmp_path):
    start = time.monotonic()
    r = await box.exec("sleep 30 & sleep 30; echo never", timeout=0.5)
    assert r.timed_out and r.exit_code == 124 and r.stdout == ""
    assert time.monotonic() - start < 3


async def test_background_child_does_not_block_the_reply(box):
    start = time.monotonic()
    r = await box.exec("sleep 5 & echo started")
    assert r.ok and r.stdout == "started\n"
    assert time.monotonic() - start < 2


async def test_signal_death_maps_to_128_plus_signal(box):
    assert (await box.exec("kill -9 $$")).exit_code == 137


async def test_files_round_trip_and_relative_paths_use_workdir(box, tmp_path):
    await box.write_file("sub/dir/f.bin", bytes(range(256)), mode=0o600)
    assert (tmp_path / "sub/dir/f.bin").read_bytes() == bytes(range(256))
    assert oct((tmp_path / "sub/dir/f.bin").stat().st_mode & 0o777) == "0o600"
    assert await box.read_file(str(tmp_path / "sub/dir/f.bin"), max_bytes=4) == bytes(range(4))
    with pytest.raises(FileNotFoundError, match="nope"):
        await box.read_file("nope")


async def test_episode_budget_clips_commands_then_refuses(tmp_path):
    b = await LocalAgent.start(tmp_path, SandboxLimits(episode_timeout=1.0))
    try:
        r = await b.exec("sleep 5", timeout=60)
        assert r.timed_out and r.duration < 2
        with pytest.raises(EpisodeTimeoutError, match="episode_timeout"):
            await b.exec("true")
    finally:
        await b.close()


async def test_dead_agent_breaks_the_sandbox_with_a_clear_error(box):
    box.proc.kill()
    with pytest.raises(SandboxBrokenError, match="stopped answering"):
        await box.exec("true")
    with pytest.raises(SandboxBrokenError):
        await box.exec("true")


async def test_closed_sandbox_refuses_calls(box):
    await box.close()
    with pytest.raises(SandboxClosedError, match="closed"):
        await box.exec("true")


async def test_bad_arguments_are_rejected(box):
    with pytest.raises(ValueError, match="non-empty"):
        await box.exec("  ")
    with pytest.raises(ValueError, match="positive"):
        await box.exec("true", timeout=0)
