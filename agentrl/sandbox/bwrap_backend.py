"""The bubblewrap backend: a sandbox for machines without a Docker daemon.

`bwrap` puts the sandbox agent (inside_agent.py) in fresh user, pid, network, ipc, uts and cgroup namespaces
(`--unshare-all`: no network but loopback) with no capabilities, a read-only view of the host's /usr
(or of `rootfs`, e.g. a debootstrapped tree), fresh /proc, /dev and size-capped tmpfs /work and /tmp, a
clean environment, and nothing else of the host: no /home, /root, /etc, /work of the host, no sockets.
When we are root it first drops to nobody (65534) with setpriv, so the namespaces are unprivileged.
Three settings close holes that docs/sandbox.md's escape probes found:
- `--as-pid-1`: the agent is pid 1 itself. With bwrap's own init as pid 1, that init held the agent's
  pipes and was ptrace-able by commands (same uid, dumpable), so `pidfd_getfd(init, 1)` let a command
  write forged replies to the host. The agent is non-dumpable, so nothing inside can take its fds.
- `--disable-userns`: commands cannot create nested user namespaces (and with them, capabilities over
  new mount and network namespaces: kernel attack surface for nothing).
- `--seccomp` with seccomp.py's deny list: no kernel keyrings (not isolated between sandboxes), no
  ptrace/pidfd_getfd/process_vm_*, no bpf, perf, userfaultfd, io_uring or syslog, no AF_VSOCK sockets
  (vsock is not network-namespaced). The Docker backend installs the same filter.

Limits bwrap cannot set come from rlimits on the agent (prlimit), which every command inherits:
`memory` -> RLIMIT_AS (per process, not a total), `pids` -> RLIMIT_NPROC (counted per user, so bwrap
sandboxes running as the same user share it), `disk` -> the size of the /work tmpfs (a quarter of it for
/tmp) and RLIMIT_FSIZE (largest file); `SandboxLimits.inodes` caps their file count only when we are
root (see `scratch_mounts`: bwrap itself can set only a size). `cpus` is not enforced. The root and /dev
are read-only, /dev/shm a 16 MiB tmpfs. The per-command and per-episode
wall-clock limits and the output cap are the agent's, as in Docker.
`snapshot` writes the work dir to a tar file and returns its path: pass it as `seed` to start from it.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import uuid
from pathlib import Path

from agentrl.sandbox.agent_sandbox import AgentSandbox
from agentrl.sandbox.base import DEFAULT_WORKDIR, SandboxError, SandboxLimits
from agentrl.sandbox.channel import AGENT_COMMAND, AgentChannel
from agentrl.sandbox.seccomp import filter_fd

NOBODY = 65534
SNAPSHOT_DIR = Path(os.environ.get("AGENTRL_SNAPSHOT_DIR", Path.home() / ".cache" / "agentrl" / "snapshots"))
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_SEED_PATH = "/opt/agentrl/work.tar"
SHM_SIZE = 16 * 2**20  # as Docker's shm_size
# When we are root, /work and /tmp are tmpfs mounts made in a private mount namespace around bwrap
# (bwrap can only set a tmpfs's size, not its inode count); this empty host folder is their mount point.
SCRATCH = "/run/agentrl-sandbox"


def tmp_size(limits: SandboxLimits) -> int:
    return max(limits.disk // 4, 2**20)


def scratch_mounts(limits: SandboxLimits) -> list[str]:
    """argv prefix (root only): a private mount namespace holding /work and /tmp, sized in bytes and inodes.

    The mounts exist only in that namespace, so they vanish with the sandbox's last process: nothing to
    clean up on the host, even when the owner dies.
    """
    os.makedirs(SCRATCH, mode=0o755, exist_ok=True)
    opts = f"nosuid,nodev,mode=0755,uid={NOBODY},gid={NOBODY}"
    script = (f"set -e; mount -t tmpfs -o size=1m,mode=0755 agentrl {SCRATCH}; mkdir {SCRATCH}/work {SCRATCH}/tmp; "
              f"mount -t tmpfs -o {opts},size={limits.disk},nr_inodes={limits.inodes} agentrl-work {SCRATCH}/work; "
              f"mount -t tmpfs -o {opts},size={tmp_size(limits)},nr_inodes={max(limits.inodes // 4, 1024)} "
              f"agentrl-tmp {SCRATCH}/tmp; exec \"$@\"")
    return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "agentrl-mounts"]


def bwrap_command(limits: SandboxLimits, workdir: str, rootfs: str | None, seed_fd: int | None,
                  seccomp_fd: int) -> list[str]:
    """The full argv: rlimits, [when root: sized scratch mounts, the drop to nobody], bwrap, the agent.

    `seccomp_fd` holds seccomp.py's compiled filter (`seccomp.filter_fd()`); bwrap reads it at start.
    """
    for tool in ("bwrap", "prlimit"):
        if shutil.which(tool) is None:
            raise SandboxError(f"`{tool}` is missing: apt-get install -y bubblewrap util-linux "
                               "(launch/setup_docker.sh installs bubblewrap).")
    argv = ["prlimit", f"--as={limits.memory}", f"--nproc={limits.pids}", f"--fsize={limits.disk}",
            "--nofile=1024", "--core=0", "--"]
    root = os.geteuid() == 0
    if root:
        argv += scratch_mounts(limits)
        argv += ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]
    argv += ["bwrap", "--unshare-all", "--unshare-user", "--disable-userns", "--as-pid-1", "--die-with-parent",
             "--new-session", "--cap-drop", "ALL", "--seccomp", str(seccomp_fd)]
    if rootfs:
        argv += ["--ro-bind", rootfs, "/"]
    else:
        argv += ["--ro-bind", "/usr", "/usr"]
        for link in ("bin", "lib", "lib64", "sbin"):
            if os.path.islink(f"/{link}"):
                argv += ["--symlink", f"usr/{link}", f"/{link}"]  # merged-/usr layout
        for etc in ("/etc/alternatives", "/etc/ld.so.cache"):
            argv += ["--ro-bind-try", etc, etc]
    argv += ["--proc", "/proc", "--dev", "/dev", "--size", str(SHM_SIZE), "--tmpfs", "/dev/shm"]
    if root:
        argv += ["--bind", f"{SCRATCH}/tmp", "/tmp", "--bind", f"{SCRATCH}/work", workdir]
    else:
        argv += ["--size", str(tmp_size(limits)), "--tmpfs", "/tmp", "--size", str(limits.disk), "--tmpfs", workdir]
    if seed_fd is not None:
        # Handed over as an open fd: the seed may live where nobody (our uid inside) cannot read.
        argv += ["--ro-bind-data", str(seed_fd), _SEED_PATH]
    # bwrap's root and /dev are tmpfs mounts without a size, writable by the sandbox user: read-only, or
    # files written there would fill host memory past every limit.
    argv += ["--remount-ro", "/dev", "--remount-ro", "/"]
    argv += ["--chdir", workdir, "--clearenv", "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin",
             "--setenv", "AGENTRL_WORKDIR", workdir, "--setenv", "AGENTRL_PIDNS", "1", "--"]
    return argv + AGENT_COMMAND


class BwrapSandbox(AgentSandbox):
    """A sandbox in bubblewrap namespaces. Create with `await BwrapSandbox.create(...)`."""

    def __init__(self, channel: AgentChannel, limits: SandboxLimits, workdir: str, process: asyncio.subprocess.Process,
                 rootfs: str | None):
        super().__init__(channel, limits, workdir, name=f"bwrap-{process.pid}")
        self._process = process
        self._rootfs = rootfs

    @classmethod
    async def create(cls, limits: SandboxLimits | None = None, *, workdir: str = DEFAULT_WORKDIR,
                     rootfs: str | None = None, seed: str | None = None) -> BwrapSandbox:
        limits = limits or SandboxLimits()
        if seed is not None and not os.path.isfile(seed):
            raise SandboxError(f"seed {seed!r} is not a file; pass the path that BwrapSandbox.snapshot returned.")
        seed_fd = os.open(seed, os.O_RDONLY) if seed is not None else None
        seccomp_fd = filter_fd()
        try:
            process = await asyncio.create_subprocess_exec(
                *bwrap_command(limits, workdir, rootfs, seed_fd, seccomp_fd), stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True,
                # bwrap clears the agent's environment (--clearenv); give bwrap itself nothing of ours
                # either (no tokens, no keys), so no process of the sandbox ever held them.
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                pass_fds=(seccomp_fd,) if seed_fd is None else (seccomp_fd, seed_fd))
        finally:
            os.close(seccomp_fd)
            if seed_fd is not None:
                os.close(seed_fd)
        tail = bytearray()

        async def keep_stderr_tail():  # drained so a chatty failure cannot block the agent
            while chunk := await process.stderr.read(4096):
                tail[:] = (tail + chunk)[-4096:]

        drain = asyncio.ensure_future(keep_stderr_tail())
        describe = lambda: f"bwrap pid {process.pid}; stderr: {bytes(tail[-800:]).decode(errors='replace')!r}"
        box = cls(AgentChannel(process.stdout.readexactly, process.stdin, describe), limits, workdir, process, rootfs)
        box._drain = drain
        try:
            await box._call({"op": "ping"}, 30.0)
        except BaseException:
            await asyncio.shield(box.close())
            raise
        return box

    async def snapshot(self, tag: str) -> str:
        """Write the work dir to `<SNAPSHOT_DIR>/<tag>.tar.gz`; returns that path (a `seed` for `create`)."""
        if not isinstance(tag, str) or not _TAG.match(tag):
            raise ValueError(f"snapshot tag {tag!r} is invalid: use letters, digits, '_', '.', '-' (at most 128).")
        archive = await self._tar_workdir()
        SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SNAPSHOT_DIR / f"{tag}.tar.gz"
        tmp = path.with_suffix(f".{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_bytes(archive)
        tmp.chmod(0o644)  # the agent reads it as nobody
        tmp.replace(path)
        return str(path)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._channel.close()
        process = self._process
        if process.returncode is None:
            try:
                os.killpg(process.pid, 9)  # the whole session: prlimit, setpriv, bwrap and what runs inside
            except ProcessLookupError:
                pass
        await asyncio.shield(process.wait())
        self._drain.cancel()
