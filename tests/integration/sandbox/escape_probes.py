"""Sandbox escape probes: each one tries a way out and asserts that it is contained.

One list, `PROBES`, run unchanged on every backend by test_escape_probes.py; docs/sandbox.md has the table
of what each probe tries and what stops it. A probe gets a `ProbeContext`: the warm sandbox, the host's
loopback listeners and canary file (to check that nothing arrives and nothing leaks), and `fresh()` for
probes that need a sandbox of their own.

Network probes only ever aim at loopback (the host's listeners) or at addresses whose connect must fail at
once with "Network is unreachable" in a sandbox without network: TEST-NET-1 (192.0.2.1) and the IPv6
documentation prefix (2001:db8::). A UDP `connect()` sends nothing; it only asks the kernel for a route.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import json
import os
import tarfile
import textwrap
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from agentrl.sandbox import Sandbox

UNREACHABLE = (errno.ENETUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT)
REFUSED = (errno.ECONNREFUSED, errno.ENETUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT)
DENIED = (errno.EPERM, errno.EACCES)


@dataclasses.dataclass
class Host:
    """The host side: loopback listeners that count what reaches them, and a canary file."""

    canary_path: Path
    canary: str
    tcp_port: int
    udp_port: int
    tcp6_port: int | None  # None when the host has no ::1
    abstract_name: str
    hits: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ProbeContext:
    backend: str  # "docker" or "bwrap"
    box: Sandbox
    host: Host
    fresh: Callable[..., Awaitable[Sandbox]]  # fresh(seed=None): a new sandbox, closed after the probe
    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch


@dataclasses.dataclass(frozen=True)
class Probe:
    area: str
    name: str
    tries: str  # what the probe attempts, for the docs table
    run: Callable[[ProbeContext], Awaitable[None]]


PROBES: list[Probe] = []


def probe(area: str, tries: str):
    def register(fn):
        PROBES.append(Probe(area, fn.__name__.removeprefix("probe_"), tries, fn))
        return fn
    return register


async def py(box: Sandbox, source: str, **args) -> dict:
    """Run a Python script in the sandbox; it fills the dict `out`, which comes back through a file
    (not stdout: some probes write forged bytes to every stream they can reach)."""
    script = f"import json\nARGS = json.loads({json.dumps(json.dumps(args))})\nout = {{}}\n"
    script += textwrap.dedent(source) + "\njson.dump(out, open('/tmp/probe.json', 'w'))\n"
    await box.write_file("/tmp/probe.py", script)
    r = await box.exec("rm -f /tmp/probe.json; python3 /tmp/probe.py")
    assert r.exit_code == 0, f"probe script failed: {r}"
    return json.loads(await box.read_file("/tmp/probe.json"))


def assert_no_hits(host: Host) -> None:
    assert host.hits == [], f"a host loopback listener was reached from the sandbox: {host.hits}"


# ---------------------------------------------------------------- network

CONNECT = """
import socket
def attempt(family, kind, addr, send=None):
    s = socket.socket(family, kind)
    s.settimeout(3)
    try:
        s.connect(addr)
        if send is not None:
            s.send(send)
        return 0
    except OSError as e:
        return e.errno or -1
    finally:
        s.close()
"""


@probe("network", "TCP connect to TEST-NET-1 (192.0.2.1:80); list the interfaces")
async def probe_tcp_off_host(ctx):
    out = await py(ctx.box, CONNECT + """
out["tcp"] = attempt(socket.AF_INET, socket.SOCK_STREAM, ("192.0.2.1", 80))
out["ifaces"] = [name for _, name in socket.if_nameindex()]
""")
    assert out == {"tcp": errno.ENETUNREACH, "ifaces": ["lo"]}


@probe("network", "TCP connect to a listener the test runs on the host's 127.0.0.1")
async def probe_host_loopback_tcp(ctx):
    out = await py(ctx.box, CONNECT + """
out["tcp"] = attempt(socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", ARGS["port"]), b"hello")
""", port=ctx.host.tcp_port)
    assert out["tcp"] == errno.ECONNREFUSED  # the sandbox's own loopback, where nothing listens
    await asyncio.sleep(0.2)
    assert_no_hits(ctx.host)


@probe("network", "UDP datagrams to the host's 127.0.0.1 listener and to 192.0.2.1:9")
async def probe_udp(ctx):
    out = await py(ctx.box, """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    s.sendto(b"probe", ("127.0.0.1", ARGS["port"]))  # lands on the sandbox's own loopback
try:
    s.sendto(b"probe", ("192.0.2.1", 9))
    out["off_host"] = 0
except OSError as e:
    out["off_host"] = e.errno
""", port=ctx.host.udp_port)
    assert out["off_host"] == errno.ENETUNREACH
    await asyncio.sleep(0.2)
    assert_no_hits(ctx.host)


@probe("network", "raw IPv4/IPv6 sockets, AF_PACKET, ICMP ping sockets")
async def probe_raw_sockets(ctx):
    out = await py(ctx.box, """
import socket
for name, args in {"raw4": (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
                   "raw6": (socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6),
                   "packet": (socket.AF_PACKET, socket.SOCK_RAW, 0x0300)}.items():
    try:
        socket.socket(*args).close()
        out[name] = 0
    except OSError as e:
        out[name] = e.errno
try:  # unprivileged ICMP echo is allowed where ping_group_range says so; it must still go nowhere
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    try:
        s.connect(("192.0.2.1", 0))
        out["ping"] = 0
    except OSError as e:
        out["ping"] = e.errno
except OSError as e:
    out["ping"] = e.errno
""")
    assert out["raw4"] in DENIED and out["raw6"] in DENIED and out["packet"] in DENIED, out
    assert out["ping"] in DENIED + (errno.ENETUNREACH,), out


@probe("network", "DNS: route to every resolv.conf nameserver; a query to a fake DNS server on the host's 127.0.0.1")
async def probe_dns(ctx):
    out = await py(ctx.box, """
import socket, struct
try:
    servers = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")]
except OSError:
    servers = []  # no resolv.conf: glibc asks 127.0.0.1, the sandbox's own loopback
out["routes"] = {}
for server in servers + ["192.0.2.53"]:
    s = socket.socket(socket.AF_INET6 if ":" in server else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect((server, 53))  # a UDP connect sends nothing: it only looks up a route
        out["routes"][server] = 0 if not server.startswith("127.") else "loopback"
    except OSError as e:
        out["routes"][server] = e.errno
query = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\\x07example\\x07invalid\\x00\\x00\\x01\\x00\\x01"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.sendto(query, ("127.0.0.1", ARGS["port"]))
try:
    s.recvfrom(512)
    out["answer"] = True
except OSError:
    out["answer"] = False
""", port=ctx.host.udp_port)
    assert all(v in (*UNREACHABLE, "loopback") for v in out["routes"].values()), out
    assert out["answer"] is False
    await asyncio.sleep(0.2)
    assert_no_hits(ctx.host)


@probe("network", "IPv6: connect to 2001:db8::1 and to a listener on the host's [::1]")
async def probe_ipv6(ctx):
    out = await py(ctx.box, CONNECT + """
out["doc"] = attempt(socket.AF_INET6, socket.SOCK_STREAM, ("2001:db8::1", 80))
out["lo"] = attempt(socket.AF_INET6, socket.SOCK_STREAM, ("::1", ARGS["port"] or 9), b"hello")
""", port=ctx.host.tcp6_port)
    assert out["doc"] in UNREACHABLE and out["lo"] in REFUSED, out
    await asyncio.sleep(0.2)
    assert_no_hits(ctx.host)


@probe("network", "connect to the Docker and containerd sockets; DOCKER_HOST")
async def probe_docker_socket(ctx):
    out = await py(ctx.box, """
import os, socket
for path in ["/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock", "/var/run/docker/metrics.sock"]:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        out[path] = 0
    except OSError as e:
        out[path] = e.errno
out["DOCKER_HOST"] = os.environ.get("DOCKER_HOST")
""")
    assert out.pop("DOCKER_HOST") is None
    assert set(out.values()) == {errno.ENOENT}, out


@probe("network", "connect to an abstract unix socket the test binds on the host")
async def probe_abstract_unix_socket(ctx):
    out = await py(ctx.box, """
import socket
s = socket.socket(socket.AF_UNIX)
try:
    s.connect("\\0" + ARGS["name"])
    s.send(b"hello")
    out["err"] = 0
except OSError as e:
    out["err"] = e.errno
""", name=ctx.host.abstract_name)
    assert out["err"] == errno.ECONNREFUSED  # abstract names live in the network namespace
    await asyncio.sleep(0.2)
    assert_no_hits(ctx.host)


# ---------------------------------------------------------------- host files

@probe("host files", "read the host canary through /proc/<pid>/root and /proc/<pid>/cwd of every visible pid")
async def probe_proc_root(ctx):
    out = await py(ctx.box, """
import os
out["found"] = []
for pid in [p for p in os.listdir("/proc") if p.isdigit()] + ["self", "thread-self"]:
    for via in ("root", "cwd"):
        try:
            if ARGS["canary"] in open(f"/proc/{pid}/{via}" + ARGS["path"]).read():
                out["found"].append(f"{pid}/{via}")
        except OSError:
            pass
try:
    out["direct"] = ARGS["canary"] in open(ARGS["path"]).read()
except OSError:
    out["direct"] = False
""", path=str(ctx.host.canary_path), canary=ctx.host.canary)
    assert out == {"found": [], "direct": False}


@probe("host files", "mount a tmpfs, bind-mount /, remount / read-write, unshare a mount namespace, chroot")
async def probe_mount_tricks(ctx):
    r = await ctx.box.exec("mkdir -p /tmp/m; for c in 'mount -t tmpfs none /tmp/m' 'mount --bind / /tmp/m' "
                           "'mount -o remount,rw /' 'umount -l /work' 'unshare -m true' 'chroot / true'; do "
                           "$c >/dev/null 2>&1 && echo \"ESCAPED: $c\"; done; touch /probe-root 2>&1; "
                           "grep -c ' / .* ro[, ]' /proc/self/mountinfo")
    assert "ESCAPED" not in r.stdout, r.stdout
    assert "Read-only file system" in r.stdout or "Permission denied" in r.stdout, r
    assert int(r.stdout.split()[-1]) >= 1  # the root is still mounted read-only


@probe("host files", "read_file of the host canary by absolute path, '..' and a symlink planted in the work dir")
async def probe_read_file_paths(ctx):
    path = str(ctx.host.canary_path)
    await ctx.box.exec(f"ln -sfn {path} /work/link-to-host; ln -sfn /proc/1/root{path} /work/link-via-proc")
    for attempt in (path, "../" * 8 + path.lstrip("/"), "link-to-host", "link-via-proc", f"/proc/1/root{path}",
                    f"/proc/self/root{path}", f"/proc/1/cwd/{'../' * 8}{path.lstrip('/')}"):
        try:
            data = await ctx.box.read_file(attempt)
        except (FileNotFoundError, PermissionError):
            continue
        assert ctx.host.canary.encode() not in data, f"read_file({attempt!r}) returned the host's canary"


@probe("host files", "write_file to the host canary by absolute path, '..' and a symlink; exec with cwd on the host")
async def probe_write_file_and_cwd_paths(ctx):
    path = str(ctx.host.canary_path)
    before = ctx.host.canary_path.stat()
    await ctx.box.exec(f"ln -sfn {path} /work/wlink; ln -sfn {ctx.host.canary_path.parent} /work/wdir")
    for attempt in (path, "../" * 8 + path.lstrip("/"), "wlink", f"wdir/{ctx.host.canary_path.name}",
                    f"/proc/1/root{path}"):
        try:
            await ctx.box.write_file(attempt, "overwritten from the sandbox")
        except (FileNotFoundError, PermissionError, NotADirectoryError, OSError):
            pass
    after = ctx.host.canary_path.stat()
    assert ctx.host.canary_path.read_text() == ctx.host.canary and after.st_mtime_ns == before.st_mtime_ns
    for cwd in (str(ctx.host.canary_path.parent), "../" * 8 + str(ctx.host.canary_path.parent).lstrip("/")):
        r = await ctx.box.exec(f"cat {ctx.host.canary_path.name}", cwd=cwd)
        assert ctx.host.canary not in r.stdout


@probe("host files", "snapshot a work dir holding symlinks to host files; path tricks in the snapshot tag")
async def probe_snapshot(ctx):
    path = str(ctx.host.canary_path)
    for tag in ("../escape", "/etc/x", "a/b", ".hidden", ""):
        with pytest.raises(ValueError):
            await ctx.box.snapshot(tag)
    box = await ctx.fresh()
    await box.exec(f"ln -s {path} /work/to-host; ln -s ../../{'../' * 6}{path.lstrip('/')} /work/dotdot")
    snap_dir = ctx.tmp_path / "snapshots"
    ctx.monkeypatch.setattr("agentrl.sandbox.bwrap_backend.SNAPSHOT_DIR", snap_dir)
    snap = await box.snapshot(f"probe-{uuid.uuid4().hex[:8]}")
    try:
        if ctx.backend == "bwrap":  # the archive lands on the host: it must hold links, never the file
            assert Path(snap).parent == snap_dir
            assert ctx.host.canary.encode() not in Path(snap).read_bytes()
            with tarfile.open(snap) as t:
                assert {m.name for m in t.getmembers() if m.issym()} == {"./to-host", "./dotdot"}
        branch = await ctx.fresh(seed=snap)
        r = await branch.exec("cat to-host dotdot")
        assert r.exit_code != 0 and ctx.host.canary not in r.stdout
    finally:
        if ctx.backend == "docker":
            proc = await asyncio.create_subprocess_exec("docker", "rmi", "-f", snap, stdout=asyncio.subprocess.DEVNULL,
                                                        stderr=asyncio.subprocess.DEVNULL)
            await proc.wait()


@probe("host files", "device nodes: list /dev, mknod, open /dev/mem, /dev/kmsg, /proc/kcore; bounded read of /dev/zero")
async def probe_device_nodes(ctx):
    r = await ctx.box.exec("ls /dev; echo ---; find /dev -type b; mknod /tmp/mem c 1 1 2>&1; "
                           "for d in /dev/mem /dev/kmem /dev/port /dev/kmsg /proc/kcore /dev/sda /dev/vda; do "
                           "head -c1 $d >/dev/null 2>&1 && echo \"OPENED $d\"; done; true")
    listing, rest = r.stdout.split("---\n")
    allowed = {"core", "fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout",
               "tty", "urandom", "zero"}
    assert set(listing.split()) <= allowed, listing
    assert "OPENED" not in rest and "Operation not permitted" in rest, rest
    assert await ctx.box.read_file("/dev/zero", max_bytes=4096) == bytes(4096)  # capped, not endless


# ---------------------------------------------------------------- privilege

@probe("privilege", "uid 0, capability sets, chown to root, setuid(0)")
async def probe_root_and_capabilities(ctx):
    out = await py(ctx.box, """
import os
status = dict(l.split(":\\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\\t" in l)
out["caps"] = {k: status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}
out["uid"] = os.getuid()
open("/tmp/mine", "w").close()
for name, call in {"chown": lambda: os.chown("/tmp/mine", 0, 0), "setuid": lambda: os.setuid(0)}.items():
    try:
        call()
        out[name] = 0
    except OSError as e:
        out[name] = e.errno
""")
    assert out["caps"] == dict.fromkeys(("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"), "0" * 16)
    # EINVAL: uid 0 is not even mapped in bwrap's user namespace.
    assert out["uid"] != 0 and out["chown"] in (errno.EPERM, errno.EINVAL) and out["setuid"] in (errno.EPERM, errno.EINVAL)


@probe("privilege", "setuid-root binaries (su, mount): no_new_privs, nosuid mounts")
async def probe_setuid_binaries(ctx):
    r = await ctx.box.exec("grep NoNewPrivs /proc/self/status; su -c 'id -u' root </dev/null 2>&1; "
                           "mount -t tmpfs none /tmp 2>&1; grep -E ' /(work|tmp) ' /proc/self/mountinfo")
    assert "NoNewPrivs:\t1" in r.stdout
    assert "\n0\n" not in r.stdout and "must be superuser" in r.stdout, r.stdout
    mounts = [line for line in r.stdout.splitlines() if " /work " in line or " /tmp " in line]
    assert len(mounts) == 2 and all("nosuid" in line for line in mounts), mounts


@probe("privilege", "ptrace, pidfd_getfd, process_vm_readv and /proc/<pid>/mem of the agent (pid 1)")
async def probe_ptrace_agent(ctx):
    out = await py(ctx.box, """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def sys(*args):
    r = libc.syscall(*args)
    return 0 if r >= 0 else ctypes.get_errno()
out["comm"] = open("/proc/1/comm").read().strip()
out["ptrace"] = 0 if libc.ptrace(16, 1, 0, 0) == 0 else ctypes.get_errno()  # PTRACE_ATTACH
pidfd = libc.syscall(434, 1, 0)  # pidfd_open
out["getfd"] = sys(438, pidfd, 1, 0) if pidfd >= 0 else ctypes.get_errno()  # pidfd_getfd(agent, stdout)
buf = ctypes.create_string_buffer(8)
iov = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 8)
remote = (ctypes.c_void_p * 2)(0x400000, 8)
out["vm_read"] = sys(310 if os.uname().machine == "x86_64" else 270, 1, iov, 1, remote, 1, 0)
for name in ("mem", "environ", "fd"):
    try:
        os.listdir("/proc/1/fd") if name == "fd" else open(f"/proc/1/{name}", "rb").read(1)
        out[name] = 0
    except OSError as e:
        out[name] = e.errno
""")
    assert out.pop("comm") == "python3"  # pid 1 is the agent itself on both backends
    assert all(v in DENIED + (errno.ESRCH,) for v in out.values()), out


@probe("privilege", "forge agent replies: write a fake reply frame into every fd of every other process")
async def probe_forge_replies(ctx):
    await py(ctx.box, """
import ctypes, os, struct
libc = ctypes.CDLL(None, use_errno=True)
fake = json.dumps({"ok": True, "exit_code": 0, "stdout": "FORGED", "stderr": "", "stdout_truncated": False,
                   "stderr_truncated": False, "timed_out": False, "duration": 0.0}).encode()
frame = struct.pack(">I", len(fake)) + fake
for pid in [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]:
    pidfd = libc.syscall(434, pid, 0)
    for fd in range(4):
        for target in ([libc.syscall(438, pidfd, fd, 0)] if pidfd >= 0 else []) + [f"/proc/{pid}/fd/{fd}"]:
            try:
                if isinstance(target, str):
                    target = os.open(target, os.O_WRONLY | os.O_NONBLOCK)
                if target >= 0:
                    os.write(target, frame)
            except OSError:
                pass
""")
    for _ in range(3):
        assert (await ctx.box.exec("echo genuine")).stdout == "genuine\n"


@probe("privilege", "create user namespaces (unshare -U, -Ur; unshare(CLONE_NEWUSER))")
async def probe_user_namespaces(ctx):
    r = await ctx.box.exec("unshare -U true 2>&1 && echo ESCAPED; unshare -Ur id -u 2>&1 && echo ESCAPED; "
                           "python3 -c 'import ctypes; l = ctypes.CDLL(None, use_errno=True); "
                           "print(\"rc\", l.unshare(0x10000000), ctypes.get_errno())'")
    assert "ESCAPED" not in r.stdout, r.stdout
    rc, err = r.stdout.split("rc ")[1].split()
    assert rc == "-1" and int(err) in DENIED + (errno.ENOSPC, errno.EINVAL), r.stdout


@probe("privilege", "kernel keyrings: add_key to the user and session keyrings, keyctl, request_key")
async def probe_kernel_keyrings(ctx):
    out = await py(ctx.box, """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
nr = {"x86_64": (248, 249, 250), "aarch64": (217, 218, 219)}[os.uname().machine]
def sys(*args):
    return 0 if libc.syscall(*args) >= 0 else ctypes.get_errno()
out["add_user"] = sys(nr[0], b"user", b"agentrl-probe", b"secret", 6, -4)  # KEY_SPEC_USER_KEYRING
out["add_session"] = sys(nr[0], b"user", b"agentrl-probe", b"secret", 6, -3)
out["request"] = sys(nr[1], b"user", b"agentrl-probe", None, 0)
out["keyctl"] = sys(nr[2], 0, -4, 0)  # KEYCTL_GET_KEYRING_ID
""")
    assert set(out.values()) <= {errno.EPERM, errno.ENOSYS}, out


@probe("privilege", "kernel attack surface: bpf, perf_event_open, userfaultfd")
async def probe_kernel_surface(ctx):
    out = await py(ctx.box, """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
nr = {"x86_64": {"bpf": 321, "perf_event_open": 298, "userfaultfd": 323},
      "aarch64": {"bpf": 280, "perf_event_open": 241, "userfaultfd": 282}}[os.uname().machine]
attr = ctypes.create_string_buffer(128)
args = {"bpf": (0, attr, 128), "perf_event_open": (attr, 0, -1, -1, 0), "userfaultfd": (0,)}
for name, n in nr.items():
    out[name] = 0 if libc.syscall(n, *args[name]) >= 0 else ctypes.get_errno()
""")
    assert set(out.values()) <= {errno.EPERM, errno.ENOSYS, errno.EACCES}, out


# ---------------------------------------------------------------- resources

@probe("resources", "fork bomb")
async def probe_fork_bomb(ctx):
    r = await ctx.box.exec("bomb() { bomb | bomb & }; bomb; sleep 30", timeout=3)
    assert r.timed_out or "fork" in r.stderr.lower(), r
    await wait_until_quiet(ctx.box)


@probe("resources", "allocate 1 GiB (the limit is 256 MiB)")
async def probe_memory(ctx):
    r = await ctx.box.exec("python3 -c 'b = bytearray(1024 * 2**20); b[::4096] = b\"x\" * len(b[::4096]); print(1)'")
    assert r.exit_code in (1, 137) and r.stdout == "", r
    assert (await ctx.box.exec("echo alive")).stdout == "alive\n"


@probe("resources", "write 200 MB into the work dir, /tmp, /dev/shm and every other folder (the limit is 32 MiB)")
async def probe_disk(ctx):
    r = await ctx.box.exec("for d in /work /tmp /dev/shm / /dev /etc /opt /var/tmp /run; do "
                           "head -c 200000000 /dev/zero > $d/fill 2>/dev/null; [ -f $d/fill ] && du -b $d/fill; "
                           "rm -f $d/fill; done; true")
    sizes = {line.split()[1]: int(line.split()[0]) for line in r.stdout.splitlines()}
    assert set(sizes) == {"/work/fill", "/tmp/fill", "/dev/shm/fill"}, sizes  # nowhere else is writable
    assert all(size <= ctx.box.limits.disk for size in sizes.values()), sizes


@probe("resources", "create empty files until something stops it (inodes cost memory, not disk)")
async def probe_inodes(ctx):
    if ctx.backend == "bwrap" and os.geteuid() != 0:
        pytest.xfail("bwrap caps inodes only when started as root (bwrap_backend.scratch_mounts); see docs/sandbox.md")
    r = await ctx.box.exec("python3 -c \"\nimport itertools, os\nos.mkdir('/work/inodes')\nfor n in itertools.count():"
                           "\n    try:\n        open('/work/inodes/%d' % n, 'w').close()\n    except OSError as e:"
                           "\n        print(n, e.errno); break\n\"", timeout=15)
    count, err = r.stdout.split()
    assert int(err) == errno.ENOSPC and int(count) <= ctx.box.limits.inodes, r
    await ctx.box.exec("rm -rf /work/inodes")


@probe("resources", "spin the CPU in 4 processes, one of them in a new session")
async def probe_cpu_spin(ctx):
    start = time.monotonic()
    r = await ctx.box.exec("for i in 1 2 3; do (while :; do :; done) & done; setsid sh -c 'while :; do :; done' & "
                           "while :; do :; done", timeout=1)
    assert r.timed_out and time.monotonic() - start < 5, r
    await wait_until_quiet(ctx.box)


@probe("resources", "leave daemons behind after the command returns, then close the sandbox")
async def probe_leftover_processes(ctx):
    marker = f"agentrl-probe-{uuid.uuid4().hex}"
    box = await ctx.fresh()
    r = await box.exec(f"setsid sh -c 'sleep 600; : {marker}' >/dev/null 2>&1 & nohup sh -c 'sleep 600; : {marker}' "
                       ">/dev/null 2>&1 & echo started")
    assert r.stdout == "started\n" and r.duration < 2
    assert marker in (await box.exec("cat /proc/[0-9]*/cmdline | tr '\\0' ' '")).stdout  # alive for the episode
    await box.close()
    deadline = time.monotonic() + 10
    while left := host_processes_with(marker):
        assert time.monotonic() < deadline, f"processes outlived their sandbox on the host: {left}"
        await asyncio.sleep(0.2)


# ---------------------------------------------------------------- information

@probe("information", "look for a host environment variable in every environment the sandbox can read")
async def probe_host_environment(ctx):
    secret = f"canary-{uuid.uuid4().hex}"
    ctx.monkeypatch.setenv("AGENTRL_PROBE_SECRET", secret)
    box = await ctx.fresh()
    r = await box.exec("env; cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'")
    assert r.ok and "HOME=/work" in r.stdout and secret not in r.stdout and "AGENTRL_PROBE_SECRET" not in r.stdout


@probe("information", "find another live sandbox's files and processes")
async def probe_other_sandboxes(ctx):
    secret = f"canary-{uuid.uuid4().hex}"
    await ctx.box.exec(f"echo {secret} > /work/secret; echo {secret} > /tmp/secret; "
                       f"setsid sh -c 'sleep 300; : {secret}' >/dev/null 2>&1 &")
    other = await ctx.fresh()
    pattern = f"[{secret[0]}]{secret[1:]}"  # a regex for the secret that does not match its own command line
    r = await other.exec(f"grep -rsl '{pattern}' /work /tmp /proc/[0-9]*/root/work /proc/[0-9]*/root/tmp; "
                         f"cat /proc/[0-9]*/cmdline | tr '\\0' ' ' | grep -c '{pattern}'; ls /proc | grep -c '^[0-9]'")
    found, matches, pids = r.stdout.splitlines()[:-2], r.stdout.split()[-2], int(r.stdout.split()[-1])
    assert found == [] and matches == "0", r.stdout
    assert pids <= 6  # the agent, this shell and its pipeline: nothing of the other sandbox
    await ctx.box.exec("rm -f /work/secret /tmp/secret")


@probe("information", "look for host-only paths: this checkout, /work/shared, /work/.library, /root/.ssh, Docker's state")
async def probe_host_paths(ctx):
    # Paths that exist only on the host (the canary's folder may exist inside: write_file probes make it).
    paths = ["/work/main", "/work/shared", "/work/.library", "/root/.ssh", "/root/.cache", "/var/lib/docker",
             "/etc/docker", "/run/docker", str(Path(__file__).parent)]
    r = await ctx.box.exec("for p in " + " ".join(paths) + "; do [ -e $p ] && echo \"VISIBLE $p\"; done; true")
    assert r.stdout == "", r.stdout


# ---------------------------------------------------------------- helpers

async def wait_until_quiet(box: Sandbox, timeout: float = 10.0) -> None:
    """After a bomb or spinner: the command's processes die out and the sandbox answers again."""
    deadline = time.monotonic() + timeout
    while True:
        r = await box.exec("ls /proc | grep -c '^[0-9]'")
        if r.ok and int(r.stdout) <= 4:  # the agent, the shell, ls and grep
            return
        assert time.monotonic() < deadline, f"processes still running {timeout} s after the command: {r}"
        await asyncio.sleep(0.2)


def host_processes_with(marker: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            pass
    return found
