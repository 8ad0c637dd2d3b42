"""The sandbox contract: what every backend (Docker, bubblewrap) promises.

A `Sandbox` runs untrusted, model-written commands. It is the project's main security boundary, so every
backend guarantees, with no way for a caller to turn them off:

- no network (no interface but loopback), never privileged, no capabilities, not root;
- memory, CPU, process-count and (where the backend can) disk and inode limits from `SandboxLimits`;
- a wall-clock limit per command (the command and everything it started are killed at the deadline)
  and per episode (counted from the first call; afterwards every call raises `EpisodeTimeoutError`);
- captured output capped at `SandboxLimits.output_cap` bytes per stream, with a flag when it was cut.

Calls are async. `close()` is idempotent and never raises for a sandbox that already died.
A sandbox whose inner agent died (killed by the command, out of memory) raises `SandboxBrokenError`
from then on: the caller records an env error and takes a fresh one.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol, runtime_checkable

from agentrl.errors import AgentRLError, ConfigError

DEFAULT_WORKDIR = "/work"


class SandboxError(AgentRLError, RuntimeError):
    """A sandbox could not be created or used (engine down, image missing, agent died)."""


class SandboxBrokenError(SandboxError):
    """The sandbox stopped answering (its agent died or the container vanished); take a fresh one."""


class SandboxClosedError(SandboxError):
    """A call was made on a sandbox after `close()`."""


class EpisodeTimeoutError(SandboxError, TimeoutError):
    """The sandbox's per-episode wall-clock budget (`SandboxLimits.episode_timeout`) is spent."""


@dataclasses.dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one sandbox. Sizes in bytes, times in seconds.

    `disk` bounds the writable work dir and /tmp (tmpfs size in Docker; per-file size in bwrap, which
    cannot size its tmpfs). `command_timeout` is the default per `exec` call; a call may ask for less or
    more, but never beyond what is left of `episode_timeout`.
    """

    memory: int = 512 * 2**20
    cpus: float = 1.0
    pids: int = 128
    disk: int = 256 * 2**20
    command_timeout: float = 60.0
    episode_timeout: float = 3600.0
    output_cap: int = 64 * 2**10

    def __post_init__(self) -> None:
        for name in ("memory", "pids", "disk", "output_cap"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"SandboxLimits.{name} must be a positive int, got {value!r}")
        for name in ("cpus", "command_timeout", "episode_timeout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"SandboxLimits.{name} must be a positive number, got {value!r}")
        if self.memory < 32 * 2**20:
            raise ConfigError(f"SandboxLimits.memory={self.memory} is below 32 MiB; the sandbox agent "
                              "(a small Python process) needs about 20 MiB. Give at least 32 MiB.")
        if self.pids < 8:
            raise ConfigError(f"SandboxLimits.pids={self.pids} is too small to run a shell; give at least 8.")

    @property
    def inodes(self) -> int:
        """Files and directories the work dir may hold: one per 2 KiB of `disk` (at least 4096).

        tmpfs inodes cost kernel memory, not disk: without a cap, empty files fill memory that no limit
        counts (bwrap) or the container's memory limit (Docker), long before `disk` is reached.
        """
        return max(self.disk // 2048, 4096)


@dataclasses.dataclass(frozen=True)
class ExecResult:
    """The outcome of one command.

    `exit_code` is the shell's status (128+N when killed by signal N); when `timed_out` is True the
    command was killed at its deadline and `exit_code` is 124, as with coreutils' `timeout`.
    `*_truncated` say that the stream was longer than the output cap and only its head is kept.
    """

    exit_code: int
    stdout: str
    stderr: str
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    timed_out: bool = False
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@runtime_checkable
class Sandbox(Protocol):
    """An isolated place to run untrusted commands; see the module docstring for its guarantees."""

    limits: SandboxLimits
    workdir: str

    async def exec(self, command: str, *, timeout: float | None = None, output_cap: int | None = None,
                   cwd: str | None = None, env: dict[str, str] | None = None) -> ExecResult:
        """Run `command` with /bin/sh -c in `cwd` (default: the work dir)."""
        ...

    async def read_file(self, path: str, *, max_bytes: int | None = None) -> bytes:
        """The file's bytes (at most `max_bytes`; raises FileNotFoundError when missing)."""
        ...

    async def write_file(self, path: str, data: bytes | str, *, mode: int = 0o644) -> None:
        """Create or replace a file (parent directories are created)."""
        ...

    async def snapshot(self, tag: str) -> str:
        """Freeze the work dir into a reusable image; returns an image id that new sandboxes start from."""
        ...

    async def close(self) -> None:
        """Kill everything and release the resources; idempotent."""
        ...
