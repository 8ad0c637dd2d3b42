"""Host side of the agent protocol (see inside_agent.py): framed JSON requests over a byte stream.

Both backends talk to the same in-sandbox agent; they differ only in how bytes reach it (Docker's attach
stream, multiplexed with 8-byte frame headers; or a bwrap child's pipes). One request at a time: calls on
one sandbox are serialised by a lock. A reply that does not arrive in time, or a closed stream, marks the
channel broken for good.
"""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path

from agentrl.sandbox.base import SandboxBrokenError

AGENT_SOURCE = (Path(__file__).parent / "inside_agent.py").read_text()
AGENT_COMMAND = ["python3", "-c", AGENT_SOURCE]
_TAIL = 4096


class DockerStreamReader:
    """Reads the stdout payload of a Docker attach stream (tty off), keeping a tail of stderr for errors."""

    def __init__(self, reader: asyncio.StreamReader):
        self._reader = reader
        self._stdout = bytearray()
        self.stderr_tail = b""

    async def readexactly(self, n: int) -> bytes:
        while len(self._stdout) < n:
            header = await self._reader.readexactly(8)
            kind, size = header[0], struct.unpack(">I", header[4:])[0]
            payload = await self._reader.readexactly(size)
            if kind == 2:
                self.stderr_tail = (self.stderr_tail + payload)[-_TAIL:]
            else:
                self._stdout += payload
        data = bytes(self._stdout[:n])
        del self._stdout[:n]
        return data


class AgentChannel:
    """Sends requests to the agent and waits for its replies."""

    def __init__(self, readexactly: Callable[[int], Awaitable[bytes]], writer: asyncio.StreamWriter,
                 describe: Callable[[], str]):
        self._readexactly = readexactly
        self._writer = writer
        self._describe = describe  # what to say about the sandbox when it breaks (id, last agent stderr)
        self._lock = asyncio.Lock()
        self.broken: str | None = None

    async def call(self, request: dict, timeout: float) -> dict:
        async with self._lock:
            if self.broken:
                raise SandboxBrokenError(self.broken)
            try:
                return await asyncio.wait_for(self._round_trip(request), timeout)
            except (asyncio.IncompleteReadError, ConnectionError, OSError) as e:
                self.broken = (f"the sandbox agent stopped answering ({type(e).__name__}); it was killed or its "
                               f"sandbox died. {self._describe()}")
            except TimeoutError:
                self.broken = (f"the sandbox agent gave no reply to {request.get('op')!r} within {timeout:.1f} s. "
                               f"{self._describe()}")
            except asyncio.CancelledError:
                # A half-read reply would desynchronise the stream: the channel cannot be reused.
                self.broken = "a call on this sandbox was cancelled mid-reply; take a fresh sandbox."
                raise
            raise SandboxBrokenError(self.broken)

    async def _round_trip(self, request: dict) -> dict:
        data = json.dumps(request).encode()
        self._writer.write(struct.pack(">I", len(data)) + data)
        await self._writer.drain()
        (size,) = struct.unpack(">I", await self._readexactly(4))
        return json.loads(await self._readexactly(size))

    def close(self) -> None:
        try:
            self._writer.close()
        except Exception:  # the transport may already be gone; closing is best effort  # noqa: BLE001, S110
            pass
