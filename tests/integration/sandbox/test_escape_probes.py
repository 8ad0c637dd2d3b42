"""Every escape probe of escape_probes.py and escape_probes_kernel.py, on both backends: one warm sandbox per backend (module scope),
one test case per probe and backend. docs/sandbox.md lists the probes and what contains each."""

import asyncio
import uuid

import pytest

from agentrl.sandbox import BASE_IMAGE, BwrapSandbox, DockerSandbox, SandboxBrokenError

from . import escape_probes_kernel  # noqa: F401 - adds its probes to PROBES
from .conftest import LIMITS
from .escape_probes import PROBES, Host, ProbeContext

ON_SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")  # the module fixtures live on the session loop

CREATE = {
    "docker": lambda seed=None: DockerSandbox.create(seed or BASE_IMAGE, LIMITS),
    "bwrap": lambda seed=None: BwrapSandbox.create(LIMITS, seed=seed),
}


class Warm:
    """The backend's shared sandbox; replaced when a probe left it broken, so one failure stays one."""

    def __init__(self, backend: str):
        self.backend, self.box = backend, None

    async def get(self):
        if self.box is not None and not self.box.closed:
            try:
                if (await self.box.exec("echo alive", timeout=5)).stdout == "alive\n":
                    return self.box
            except SandboxBrokenError:
                pass
            await self.box.close()
        self.box = await CREATE[self.backend]()
        return self.box

    async def close(self):
        if self.box is not None:
            await self.box.close()


@pytest.fixture(scope="module")
async def host(tmp_path_factory):
    """Loopback listeners on the host that record anything reaching them, and a canary file."""
    canary_path = tmp_path_factory.mktemp("host") / "canary.txt"
    canary = f"host-canary-{uuid.uuid4().hex}"
    canary_path.write_text(canary)
    hits: list[str] = []

    async def on_connect(reader, writer):
        hits.append(f"tcp {writer.get_extra_info('peername')}")
        writer.close()

    class Udp(asyncio.DatagramProtocol):
        def datagram_received(self, data, addr):
            hits.append(f"udp {addr}")

    loop = asyncio.get_running_loop()
    tcp = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    udp, _ = await loop.create_datagram_endpoint(Udp, local_addr=("127.0.0.1", 0))
    try:
        tcp6 = await asyncio.start_server(on_connect, "::1", 0)
    except OSError:  # no IPv6 on this host's loopback: the probe still checks the sandbox side
        tcp6 = None
    name = f"agentrl-probe-{uuid.uuid4().hex}"
    abstract = await asyncio.start_unix_server(on_connect, path="\0" + name)
    try:
        yield Host(canary_path, canary, tcp.sockets[0].getsockname()[1], udp.get_extra_info("sockname")[1],
                   tcp6.sockets[0].getsockname()[1] if tcp6 else None, name, hits)
    finally:
        for server in filter(None, (tcp, tcp6, abstract)):
            server.close()
        udp.close()


@pytest.fixture(scope="module")
async def docker_warm(docker_ready):
    warm = Warm("docker")
    yield warm
    await warm.close()


@pytest.fixture(scope="module")
async def bwrap_warm():
    warm = Warm("bwrap")
    yield warm
    await warm.close()


async def run_probe(probe, warm: Warm, host: Host, tmp_path, monkeypatch):
    fresh_boxes = []

    async def fresh(seed=None):
        fresh_boxes.append(await CREATE[warm.backend](seed))
        return fresh_boxes[-1]

    host.hits.clear()
    try:
        await probe.run(ProbeContext(warm.backend, await warm.get(), host, fresh, tmp_path, monkeypatch))
    finally:
        await asyncio.gather(*(b.close() for b in fresh_boxes))


@pytest.mark.docker
@ON_SESSION_LOOP
@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
async def test_docker_contains(probe, docker_warm, host, tmp_path, monkeypatch):
    await run_probe(probe, docker_warm, host, tmp_path, monkeypatch)


@pytest.mark.bwrap
@ON_SESSION_LOOP
@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
async def test_bwrap_contains(probe, bwrap_warm, host, tmp_path, monkeypatch):
    await run_probe(probe, bwrap_warm, host, tmp_path, monkeypatch)


def test_the_probe_list_covers_the_issue():
    """>= 20 probes, in every area the issue names, and the kernel ones; the same list runs on both backends."""
    names = {p.name for p in PROBES}
    assert len(PROBES) >= 39 and len(names) == len(PROBES)
    assert {p.area for p in PROBES} == {"network", "host files", "privilege", "resources", "information"}
    for needed in ("udp", "raw_sockets", "dns", "ipv6", "docker_socket", "host_loopback_tcp", "proc_root",
                   "mount_tricks", "read_file_paths", "write_file_and_cwd_paths", "snapshot", "device_nodes",
                   "setuid_binaries", "root_and_capabilities", "ptrace_agent", "user_namespaces", "kernel_keyrings",
                   "fork_bomb", "memory", "disk", "inodes", "cpu_spin", "leftover_processes", "host_environment",
                   "other_sandboxes", "vsock", "syslog", "cgroup_release_agent", "cgroup_namespace", "sys_writes",
                   "kernel_modules", "mount_proc", "perf_event_variants", "keyctl_variants"):
        assert needed in names, needed
