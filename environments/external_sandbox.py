"""External programs inside the env's sandbox: an agent harness runs where its commands act, talking to the gateway.

    SandboxProgramEnv("mini -y -t \"$TASK\"", image="agentrl/swe-task:ID", mounts=[(harness_dir, "/opt/harness")])

Like `ProgramEnv` (environments/external.py), each episode is one program run whose model requests are the
turns, and how it ended becomes the status. The difference: the program is a shell command run *inside* a
fresh sandbox (a locked-down Docker container by default), so the harness's own tools (its bash, its file
edits) act on the sandbox, and the env can score the outcome there (`after_program`, e.g. the SWE tests).

The sandbox has no network, so the gateway is reached through a unix socket: the gateway listens on one in a
private folder on the host, that folder is bind-mounted read-only at ``/opt/agentrl-gateway``, and a small
relay (agentrl/gateway/inside_relay.py, standard library only, run on the image's ``python3``) listens on the
sandbox's 127.0.0.1 and forwards to it. The program gets ``OPENAI_BASE_URL=http://127.0.0.1:PORT/s/KEY/v1``
and the same variables as a `ProgramEnv` subprocess (``OPENAI_API_KEY``, ``AGENTRL_MODEL``, ``AGENTRL_TASK``,
``AGENTRL_SEED``). Nothing in the sandbox can reach anything else on the host: the socket serves the
gateway's routes only, and the key in the URL names this episode's session only.

Other read-only `mounts` (host folder, container path) bring in what the image lacks, such as a harness
installed on the host (launch/setup_harness.sh); nothing is downloaded inside a sandbox.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from agentrl.environments.external import AGENT, ProgramEnv, ProgramResult
from agentrl.sandbox.base import EpisodeTimeoutError, Sandbox, SandboxError, SandboxLimits
from agentrl.types import Task

RELAY_MOUNT = "/opt/agentrl-gateway"
RELAY_PORT = 8765
RELAY_EXIT = 125  # the launcher's exit code when the relay did not start
Mounts = tuple[tuple[str, str], ...]
SandboxMaker = Callable[[str, Mounts], Awaitable[Sandbox]]


def docker_sandboxes(limits: SandboxLimits | None = None, labels: Mapping[str, str] | None = None) -> SandboxMaker:
    """`(image, mounts) -> sandbox`: a fresh locked-down Docker container with the mounts bound read-only."""
    def make(image: str, mounts: Mounts) -> Awaitable[Sandbox]:
        from agentrl.sandbox.docker_backend import DockerSandbox
        return DockerSandbox.create(image, limits, labels={"agentrl.program": "episode", **(labels or {})},
                                    mounts=mounts)
    return make


def launcher(command: str, *, port: int = RELAY_PORT, python: str = "python3") -> str:
    """The shell script run in the sandbox: start the relay, wait until it listens, run `command`, stop it."""
    relay, sock = f"{RELAY_MOUNT}/inside_relay.py", f"{RELAY_MOUNT}/gateway.sock"
    return f"""\
{python} {relay} --socket {sock} --port {port} --ready /tmp/agentrl-relay.ready >/tmp/agentrl-relay.log 2>&1 &
relay=$!
tries=0
while [ ! -e /tmp/agentrl-relay.ready ]; do
  tries=$((tries + 1))
  if [ $tries -gt 300 ] || ! kill -0 $relay 2>/dev/null; then
    echo "agentrl: the gateway relay did not start in the sandbox ({python} {relay}):" >&2
    cat /tmp/agentrl-relay.log >&2
    exit {RELAY_EXIT}
  fi
  sleep 0.1
done
( {command}
)
code=$?
kill $relay 2>/dev/null
exit $code
"""


class SandboxProgramEnv(ProgramEnv):
    """A program (a shell `command`, or a function of the task returning one) run in a fresh sandbox of `image`
    (a name, or a function of the task) per episode, through the gateway. `sandboxes(image, mounts)` makes the
    sandbox (default: `docker_sandboxes(limits)`); `cwd` is relative to the sandbox's work dir. The sandbox stays
    open until the next reset or `close`, so verifiers can look at it (``env.sandbox``)."""

    def __init__(self, command: str | Callable[[Task], str], *, image: str | Callable[[Task], str],
                 mounts: Sequence[tuple[str | os.PathLike, str]] = (), sandboxes: SandboxMaker | None = None,
                 limits: SandboxLimits | None = None, timeout: float = 600.0, env: Mapping[str, str] | None = None,
                 cwd: str | None = None, model: str = "agentrl", port: int = RELAY_PORT, python: str = "python3"):
        super().__init__(["(in the sandbox)"], timeout=timeout, env=env, cwd=cwd, model=model)
        for _, target in mounts:
            if not target.startswith("/") or target.rstrip("/") == RELAY_MOUNT:
                raise ValueError(f"mount target {target!r}: give an absolute path other than {RELAY_MOUNT}")
        self.command, self.image, self.port, self.python = command, image, port, python
        self.mounts: Mounts = tuple((str(Path(src).resolve()), target) for src, target in mounts)
        self._sandboxes = sandboxes or docker_sandboxes(limits)
        self.sandbox: Sandbox | None = None
        self._socket_dir: str | None = None

    def _make_gateway(self, gateway_class: type) -> Any:
        # A private folder: only the socket and the relay's source, mounted read-only into the sandbox.
        self._socket_dir = tempfile.mkdtemp(prefix="agentrl-gw-")
        os.chmod(self._socket_dir, 0o755)  # the sandbox user (nobody) must reach the socket inside it
        from agentrl.gateway import inside_relay
        shutil.copyfile(inside_relay.__file__, os.path.join(self._socket_dir, "inside_relay.py"))
        return gateway_class(self.policy, model=self.model, agent=AGENT,
                             unix_socket=os.path.join(self._socket_dir, "gateway.sock"))

    async def _run(self, task: Task, seed: int) -> ProgramResult:
        await self._close_sandbox()
        image = self.image(task) if callable(self.image) else self.image
        try:
            self.sandbox = await self._sandboxes(image, ((self._socket_dir, RELAY_MOUNT), *self.mounts))
        except SandboxError as e:
            return ProgramResult(error=f"cannot start the sandbox of {image!r}: {e}")
        command = self.command(task) if callable(self.command) else self.command
        env = {**self.extra_env, "OPENAI_BASE_URL": f"http://127.0.0.1:{self.port}/s/{self.session.key}/v1",
               "OPENAI_API_KEY": self.session.key, "AGENTRL_MODEL": self.model, "AGENTRL_SEED": str(seed),
               "AGENTRL_TASK": json.dumps({"id": task.id, "prompt": list(task.prompt),
                                           "env_kwargs": dict(task.env_kwargs)})}
        try:
            run = await self.sandbox.exec(launcher(command, port=self.port, python=self.python), timeout=self.timeout,
                                          cwd=self.cwd, env=env)
        except EpisodeTimeoutError:
            return ProgramResult(timed_out=True)
        except SandboxError as e:
            return ProgramResult(error=f"the sandbox failed while the program ran: {e}")
        if run.timed_out:
            return ProgramResult(stdout=run.stdout, stderr=run.stderr, timed_out=True)
        if run.exit_code == RELAY_EXIT and "relay did not start" in run.stderr:
            return ProgramResult(exit_code=run.exit_code, stderr=run.stderr, error=run.stderr.strip()[-2000:])
        result = ProgramResult(exit_code=run.exit_code, stdout=run.stdout, stderr=run.stderr)
        try:
            return await self.after_program(task, result)
        except SandboxError as e:
            return dataclasses.replace(result, error=f"scoring in the sandbox failed: {e}")

    async def after_program(self, task: Task, result: ProgramResult) -> ProgramResult:
        """Called with the sandbox still open once the program exited (not on a timeout): look at what it did
        (run tests, collect a patch) and return the result, e.g. with ``value`` set for the verifiers."""
        return result

    async def _close_sandbox(self) -> None:
        box, self.sandbox = self.sandbox, None
        if box is not None:
            with contextlib.suppress(SandboxError):
                await box.close()

    async def _stop_gateway(self) -> None:
        await super()._stop_gateway()
        folder, self._socket_dir = self._socket_dir, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    async def close(self) -> None:
        await self._close_sandbox()
        await super().close()
