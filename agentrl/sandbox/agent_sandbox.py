"""What both backends share: request building, the episode clock, and reply decoding.

A backend builds the transport (Docker attach stream or bwrap pipes) and hands an `AgentChannel` to
`AgentSandbox`; it adds only `snapshot` and how to tear the sandbox down.
"""

from __future__ import annotations

import base64
import time

from agentrl.sandbox.base import EpisodeTimeoutError, ExecResult, SandboxClosedError, SandboxError, SandboxLimits
from agentrl.sandbox.channel import AgentChannel

# Slack for the agent's own work and a loaded host (64 sandboxes on 2 cores) before a reply counts as lost.
REPLY_SLACK = 30.0
_FILE_ERRORS = {"FileNotFoundError": FileNotFoundError, "IsADirectoryError": IsADirectoryError,
                "PermissionError": PermissionError, "NotADirectoryError": NotADirectoryError}


class AgentSandbox:
    """exec / read_file / write_file over an agent channel, with limits and the per-episode clock."""

    def __init__(self, channel: AgentChannel, limits: SandboxLimits, workdir: str, name: str):
        self.limits = limits
        self.workdir = workdir
        self.name = name
        self._channel = channel
        self._episode_deadline: float | None = None
        self.closed = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}{' closed' if self.closed else ''}>"

    def _budget(self, wanted: float) -> float:
        """Clip a command timeout to what is left of the episode; starts the episode clock on first use."""
        if self.closed:
            raise SandboxClosedError(f"{self!r} is closed; acquire a new sandbox.")
        now = time.monotonic()
        if self._episode_deadline is None:
            self._episode_deadline = now + self.limits.episode_timeout
        left = self._episode_deadline - now
        if left <= 0:
            raise EpisodeTimeoutError(f"{self!r} used its episode budget of {self.limits.episode_timeout} s "
                                      "(SandboxLimits.episode_timeout); end the episode with status timeout.")
        return min(wanted, left)

    async def _call(self, request: dict, timeout: float) -> dict:
        reply = await self._channel.call(request, timeout + REPLY_SLACK)
        if not reply.get("ok"):
            kind, message = reply.get("kind", "Error"), reply.get("error", "")
            raise _FILE_ERRORS.get(kind, SandboxError)(f"{kind} in {self!r}: {message}")
        return reply

    async def exec(self, command: str, *, timeout: float | None = None, output_cap: int | None = None,
                   cwd: str | None = None, env: dict[str, str] | None = None) -> ExecResult:
        if not isinstance(command, str) or not command.strip():
            raise ValueError(f"exec needs a non-empty shell command string, got {command!r}")
        wanted = self.limits.command_timeout if timeout is None else timeout
        if wanted <= 0:
            raise ValueError(f"exec timeout must be positive, got {timeout!r}")
        budget = self._budget(wanted)
        cap = self.limits.output_cap if output_cap is None else min(output_cap, self.limits.output_cap)
        reply = await self._call({"op": "exec", "cmd": command, "timeout": budget, "cap": cap, "cwd": cwd,
                                  "env": env or {}}, budget)
        return ExecResult(exit_code=reply["exit_code"], stdout=reply["stdout"], stderr=reply["stderr"],
                          stdout_truncated=reply["stdout_truncated"], stderr_truncated=reply["stderr_truncated"],
                          timed_out=reply["timed_out"], duration=reply["duration"])

    async def read_file(self, path: str, *, max_bytes: int | None = None) -> bytes:
        self._budget(1.0)
        cap = max_bytes if max_bytes is not None else 64 * 2**20
        reply = await self._call({"op": "read", "path": path, "cap": cap}, 10.0)
        return base64.b64decode(reply["data"])

    async def write_file(self, path: str, data: bytes | str, *, mode: int = 0o644) -> None:
        self._budget(1.0)
        raw = data.encode() if isinstance(data, str) else bytes(data)
        await self._call({"op": "write", "path": path, "data": base64.b64encode(raw).decode(), "mode": mode}, 10.0)

    async def _tar_workdir(self) -> bytes:
        self._budget(1.0)
        reply = await self._call({"op": "tar", "path": self.workdir}, 60.0)
        return base64.b64decode(reply["data"])
