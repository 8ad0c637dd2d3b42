"""The Docker backend: one locked-down container per sandbox, driven through the Docker SDK.

Each container runs the sandbox agent (inside_agent.py) as its first process, with our stdin/stdout attached:
commands go over that stream (one round trip) instead of one `docker exec` each (three engine calls);
bench/sandbox.py measures both. The container:
- has no network (`network_mode="none"`: loopback only), no capabilities, no-new-privileges, runs as
  nobody (65534), with a read-only root; the work dir and /tmp are size-capped tmpfs mounts;
- has memory (no swap), CPU and pid limits from `SandboxLimits`, and its own cgroup namespace;
- adds seccomp.py's filter on top of the engine's default profile (the agent installs it: `AGENTRL_SECCOMP`);
- is labelled with its owner (see owner.py), is removed by the engine when it stops (auto_remove), and
  stops by itself when its owner's connection closes (stdin_once): a dead owner leaves nothing running.
Never privileged, never host network, never the Docker socket inside.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import io
import os
import re
import socket
import tarfile
import threading
import time

from agentrl.sandbox.agent_sandbox import AgentSandbox
from agentrl.sandbox.base import DEFAULT_WORKDIR, SandboxError, SandboxLimits
from agentrl.sandbox.channel import AGENT_COMMAND, AgentChannel, DockerStreamReader
from agentrl.sandbox.owner import LABEL, owner_labels
from agentrl.sandbox.seccomp import docker_env

BASE_IMAGE = "agentrl/base:bookworm"
SNAPSHOT_REPO = "agentrl/snapshot"
SANDBOX_USER = "65534:65534"
_ENGINE_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")

_client = None
_client_lock = threading.Lock()
LIVE_CONTAINERS: dict[str, object] = {}  # container id -> client; removed at interpreter exit if still there


def docker_client():
    """One shared Docker SDK client (it holds a connection pool); a clear error when no engine answers."""
    global _client
    with _client_lock:
        if _client is None:
            try:
                import docker
            except ImportError as e:
                raise SandboxError("the Docker backend needs the Docker SDK: pip install 'docker>=7' "
                                   "(or the agentrl-suite[swe] extra)") from e
            try:
                client = docker.from_env(timeout=120, max_pool_size=128)
                client.ping()
            except Exception as e:
                raise SandboxError(f"no Docker engine answers ({e}). Start one with `bash launch/setup_docker.sh` "
                                   "(it runs dockerd --bridge=none --iptables=false).") from e
            _client = client
        return _client


@atexit.register
def _remove_leftovers() -> None:
    # Last line of defence for a process that exits without closing its sandboxes.
    for cid, client in list(LIVE_CONTAINERS.items()):
        try:
            client.api.remove_container(cid, force=True)
        except Exception:  # noqa: BLE001, S110
            pass


def container_config(image: str, limits: SandboxLimits, workdir: str, labels: dict[str, str],
                     mounts: tuple[tuple[str, str], ...] = ()) -> tuple[dict, dict]:
    """(create_container kwargs, host config kwargs) for one sandbox: every security setting lives here.
    `mounts`: (host folder, container path) pairs, bound read-only (a harness, the gateway's socket)."""
    tmpfs_opts = "rw,exec,nosuid,nodev,uid=65534,gid=65534,mode=0755"
    host = {
        "network_mode": "none", "privileged": False, "cap_drop": ["ALL"], "security_opt": ["no-new-privileges"],
        "read_only": True,
        "tmpfs": {workdir: f"{tmpfs_opts},size={limits.disk},nr_inodes={limits.inodes}",
                  "/tmp": f"{tmpfs_opts},size={max(limits.disk // 4, 2**20)},nr_inodes={max(limits.inodes // 4, 1024)}"},
        "mem_limit": limits.memory, "memswap_limit": limits.memory, "nano_cpus": int(limits.cpus * 1e9),
        "pids_limit": limits.pids, "ipc_mode": "private", "cgroupns": "private", "shm_size": 16 * 2**20, "auto_remove": True,
        # The agent's replies travel over the attach stream; logging them too would only fill the disk.
        "log_config": {"type": "none", "config": {}},
    }
    if mounts:
        for src, _ in mounts:  # never the engine's socket, not even read-only (it would still drive the engine)
            real = os.path.realpath(src)
            if any(sock == real or sock.startswith(real.rstrip("/") + "/") for sock in _ENGINE_SOCKETS):
                raise SandboxError(f"mount {src!r} would expose the Docker engine's socket inside the sandbox; "
                                   "mount a folder that does not contain it.")
        host["binds"] = {src: {"bind": dst, "mode": "ro"} for src, dst in mounts}
    # stdin_open without detach makes docker-py set StdinOnce: stdin closes when our connection does, so
    # the agent exits and the container goes (auto_remove).
    create = {"image": image, "command": AGENT_COMMAND, "user": SANDBOX_USER, "working_dir": "/", "hostname": "sandbox",
                  "environment": {"AGENTRL_WORKDIR": workdir, "AGENTRL_PIDNS": "1", **docker_env()}, "labels": labels, "stdin_open": True}
    return create, host


class DockerSandbox(AgentSandbox):
    """A sandbox in a Docker container. Create with `await DockerSandbox.create(...)`."""

    def __init__(self, channel: AgentChannel, limits: SandboxLimits, workdir: str, container_id: str,
                 image: str, client, sock: socket.socket):
        super().__init__(channel, limits, workdir, name=container_id[:12])
        self.container_id = container_id
        self.image = image
        self._client = client
        self._sock = sock

    @classmethod
    async def create(cls, image: str = BASE_IMAGE, limits: SandboxLimits | None = None, *,
                     workdir: str = DEFAULT_WORKDIR, labels: dict[str, str] | None = None,
                     mounts: tuple[tuple[str, str], ...] = ()) -> DockerSandbox:
        limits = limits or SandboxLimits()
        client = await asyncio.to_thread(docker_client)
        all_labels = {**(labels or {}), **owner_labels()}
        creating = asyncio.ensure_future(asyncio.to_thread(_create_attached, client, image, limits, workdir, all_labels,
                                                        tuple(mounts)))
        try:
            cid, sock = await asyncio.shield(creating)
        except asyncio.CancelledError:
            # The engine call runs on in its thread: wait for it and remove what it made.
            with contextlib.suppress(Exception):
                cid, sock = await creating
                sock.close()
                await asyncio.to_thread(remove_container, client, cid)
            raise
        try:
            reader, writer = await asyncio.open_connection(sock=sock)
            stream = DockerStreamReader(reader)
            describe = lambda: f"container {cid[:12]}; agent stderr: {stream.stderr_tail[-800:].decode(errors='replace')!r}"
            box = cls(AgentChannel(stream.readexactly, writer, describe), limits, workdir, cid, image, client, sock)
            await asyncio.to_thread(client.api.start, cid)
            await box._call({"op": "ping"}, 30.0)
        except BaseException:
            await asyncio.shield(asyncio.to_thread(remove_container, client, cid))
            sock.close()
            raise
        return box

    async def snapshot(self, tag: str) -> str:
        """Commit the work dir into a new image `agentrl/snapshot:<tag>`; start sandboxes from the returned id."""
        if not isinstance(tag, str) or not _TAG.match(tag):
            raise ValueError(f"snapshot tag {tag!r} is not a valid Docker tag: use letters, digits, '_', '.', '-' "
                             "(at most 128, not starting with '.' or '-').")
        archive = await self._tar_workdir()
        return await asyncio.to_thread(_commit_with_seed, self._client, self.image, archive, tag)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._channel.close()
        # Shielded: a cancelled close must still remove the container (the thread runs on regardless).
        await asyncio.shield(asyncio.to_thread(remove_container, self._client, self.container_id))


def _create_attached(client, image: str, limits: SandboxLimits, workdir: str, labels: dict,
                     mounts: tuple[tuple[str, str], ...] = ()) -> tuple[str, socket.socket]:
    import docker.errors
    create, host = container_config(image, limits, workdir, labels, mounts)
    try:
        cid = client.api.create_container(**create, host_config=client.api.create_host_config(**host))["Id"]
    except docker.errors.ImageNotFound as e:
        raise SandboxError(f"image {image!r} not found. Build the base image with `agentrl sandbox build-base` "
                           "(or `python -m agentrl.sandbox.cli build-base`).") from e
    LIVE_CONTAINERS[cid] = client
    try:
        # Attach before start, so the stream exists before the agent runs; raw socket for asyncio.
        resp = client.api.attach_socket(cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        sock = getattr(resp, "_sock", resp)
        sock.setblocking(False)
    except BaseException:
        remove_container(client, cid)
        raise
    return cid, sock


def remove_container(client, cid: str) -> None:
    import docker.errors
    for _ in range(3):
        try:
            client.api.remove_container(cid, force=True)
            break
        except docker.errors.NotFound:
            break
        except docker.errors.APIError as e:
            if "already in progress" in str(e):  # auto_remove got there first
                _wait_gone(client, cid)
                break
            time.sleep(0.2)
    LIVE_CONTAINERS.pop(cid, None)


def _wait_gone(client, cid: str, timeout: float = 10.0) -> None:
    import docker.errors
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            client.api.inspect_container(cid)
        except docker.errors.NotFound:
            return
        time.sleep(0.05)


def _commit_with_seed(client, image: str, archive: bytes, tag: str) -> str:
    """A new image = `image` + the work dir archive at /opt/agentrl/work.tar (restored by the agent at start)."""
    outer = io.BytesIO()
    with tarfile.open(fileobj=outer, mode="w") as t:
        folder = tarfile.TarInfo("agentrl")
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        t.addfile(folder)
        info = tarfile.TarInfo("agentrl/work.tar")
        info.size, info.mode = len(archive), 0o644
        t.addfile(info, io.BytesIO(archive))
    helper = client.containers.create(image=image, command=["true"], labels=owner_labels(), network_mode="none")
    LIVE_CONTAINERS[helper.id] = client
    try:
        helper.put_archive("/opt", outer.getvalue())
        result = helper.commit(repository=SNAPSHOT_REPO, tag=tag, conf={"Labels": {LABEL: "1", "agentrl.snapshot": tag}})
        return result.id
    finally:
        remove_container(client, helper.id)
