"""More escape probes, aimed at the kernel: vsock, the kernel log, cgroups (release_agent, the cgroup
namespace), writes under /sys and /proc/sys, module loading, mounting proc, perf events and keyring calls.

They join `escape_probes.PROBES` (test_escape_probes.py imports this module), so they run unchanged on both
backends like the rest; docs/sandbox.md's table has a row for each. The syscall numbers are x86-64's and
aarch64's, the machines seccomp.py has tables for.
"""

from __future__ import annotations

import errno
from pathlib import Path

from .escape_probes import probe, py

SYSCALLS = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
NR = {"x86_64": {"syslog": 103, "init_module": 175, "finit_module": 313, "delete_module": 176, "keyctl": 250,
                 "perf_event_open": 298, "open_tree": 428, "fsopen": 430},
      "aarch64": {"syslog": 116, "init_module": 105, "finit_module": 273, "delete_module": 106, "keyctl": 219,
                  "perf_event_open": 241, "open_tree": 428, "fsopen": 430}}[os.uname().machine]
def sys(name, *args):
    return 0 if libc.syscall(NR[name], *args) >= 0 else ctypes.get_errno()
def call(fn, *args):
    return 0 if fn(*args) >= 0 else ctypes.get_errno()
def write(path, data=b"1"):
    try:
        with open(path, "wb", buffering=0) as f:
            f.write(data)
        return 0
    except OSError as e:
        return e.errno
"""
WRITE_DENIED = (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOENT)


@probe("network", "vsock: AF_VSOCK stream and datagram sockets to the hypervisor (CID 2) and the host (CID 1)")
async def probe_vsock(ctx):
    out = await py(ctx.box, """
import socket
for kind, name in ((socket.SOCK_STREAM, "stream"), (socket.SOCK_DGRAM, "dgram"), (socket.SOCK_SEQPACKET, "seq")):
    try:
        s = socket.socket(40, kind)  # AF_VSOCK
    except OSError as e:
        out[name] = e.errno
        continue
    try:
        s.settimeout(3)
        s.connect((2, 9999))
        out[name] = 0
    except OSError as e:
        out[name] = -e.errno  # a socket was made: the filter did not stop it
    finally:
        s.close()
""")
    assert out == dict.fromkeys(("stream", "dgram", "seq"), errno.EPERM), out  # seccomp.py's socket check


@probe("information", "read the kernel log: syslog(READ_ALL), syslog(SIZE_BUFFER), dmesg")
async def probe_syslog(ctx):
    out = await py(ctx.box, SYSCALLS + """
buf = ctypes.create_string_buffer(4096)
out["read_all"] = sys("syslog", 3, buf, 4096)
out["size_buffer"] = sys("syslog", 10, None, 0)
out["read_clear"] = sys("syslog", 4, buf, 4096)
""")
    r = await ctx.box.exec("dmesg >/dev/null 2>&1 && echo ESCAPED; true")
    assert out == dict.fromkeys(("read_all", "size_buffer", "read_clear"), errno.EPERM), out
    assert "ESCAPED" not in r.stdout, r.stdout


@probe("privilege", "cgroup v1 release_agent escape: write every release_agent and notify_on_release, mount a "
       "cgroup v1 hierarchy, unshare a cgroup namespace")
async def probe_cgroup_release_agent(ctx):
    out = await py(ctx.box, SYSCALLS + """
out["writes"] = {}
for root, dirs, files in os.walk("/sys/fs/cgroup"):
    for f in files:
        if f in ("release_agent", "notify_on_release", "cgroup.procs", "cgroup.subtree_control"):
            out["writes"][os.path.join(root, f)] = write(os.path.join(root, f), b"/tmp/x" if f == "release_agent" else b"1")
os.makedirs("/tmp/cg", exist_ok=True)
out["mount_rdma"] = call(libc.mount, b"cgroup", b"/tmp/cg", b"cgroup", 0, b"rdma")
out["mount_v2"] = call(libc.mount, b"cgroup2", b"/tmp/cg", b"cgroup2", 0, None)
out["unshare_cgroup"] = call(libc.unshare, 0x02000000 | 0x00020000)  # CLONE_NEWCGROUP | CLONE_NEWNS
""")
    writes = out.pop("writes")
    assert all(e in WRITE_DENIED for e in writes.values()), writes
    assert all(e in (errno.EPERM, errno.EACCES, errno.ENOENT) for e in out.values()), out


@probe("host files", "the cgroup namespace: the host's cgroup paths in /proc/self/cgroup and /proc/1/cgroup; "
       "move into the root cgroup")
async def probe_cgroup_namespace(ctx):
    out = await py(ctx.box, SYSCALLS + """
out["self"] = open("/proc/self/cgroup").read().splitlines()
try:
    out["agent"] = open("/proc/1/cgroup").read().splitlines()
except OSError:  # the agent is non-dumpable: fine if this is closed too
    out["agent"] = []
out["join_root"] = write("/sys/fs/cgroup/cgroup.procs", str(os.getpid()).encode())
""")
    for line in out["self"] + out["agent"]:
        assert line.split(":", 2)[2] == "/", out  # a private cgroup namespace: its root is the sandbox's own
    assert out["join_root"] in WRITE_DENIED, out


@probe("host files", "writes under /sys and /proc/sys: uevent_helper, core_pattern, modprobe, sysrq-trigger, "
       "drop_caches, transparent hugepages")
async def probe_sys_writes(ctx):
    targets = ["/sys/kernel/uevent_helper", "/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe",
               "/proc/sysrq-trigger", "/proc/sys/vm/drop_caches", "/sys/kernel/mm/transparent_hugepage/enabled",
               "/proc/sys/kernel/hostname", "/sys/power/state"]
    before = {t: Path(t).read_bytes() for t in targets[1:3] if Path(t).exists()}  # core_pattern, modprobe
    out = await py(ctx.box, SYSCALLS + """
for t in ARGS["targets"]:
    out[t] = write(t, b"|/tmp/agentrl-probe" if "pattern" in t or "helper" in t or "modprobe" in t else b"0")
""", targets=targets)
    assert all(e in WRITE_DENIED for e in out.values()), out
    assert {t: Path(t).read_bytes() for t in before} == before  # the host's settings are untouched


@probe("privilege", "load and unload kernel modules: init_module, finit_module, delete_module, modprobe, insmod")
async def probe_kernel_modules(ctx):
    out = await py(ctx.box, SYSCALLS + """
image = ctypes.create_string_buffer(b"\\x7fELF" + bytes(60))
out["init_module"] = sys("init_module", image, 64, b"")
fd = os.open("/tmp/probe.py", os.O_RDONLY)
out["finit_module"] = sys("finit_module", fd, b"", 0)
out["delete_module"] = sys("delete_module", b"loop", 0x800)  # O_NONBLOCK
""")
    r = await ctx.box.exec("for c in 'modprobe dummy' 'insmod /tmp/probe.py' 'rmmod loop'; do $c >/dev/null 2>&1 "
                           "&& echo \"ESCAPED: $c\"; done; true")
    assert set(out.values()) <= {errno.EPERM, errno.ENOSYS}, out
    assert "ESCAPED" not in r.stdout, r.stdout


@probe("host files", "mount a fresh proc: mount(2), unshare(CLONE_NEWNS|CLONE_NEWPID), fsopen(\"proc\"), "
       "open_tree(/proc, OPEN_TREE_CLONE), `mount -t proc`")
async def probe_mount_proc(ctx):
    out = await py(ctx.box, SYSCALLS + """
os.makedirs("/tmp/p", exist_ok=True)
out["mount"] = call(libc.mount, b"proc", b"/tmp/p", b"proc", 0, None)
out["unshare"] = call(libc.unshare, 0x00020000 | 0x20000000)  # CLONE_NEWNS | CLONE_NEWPID
out["fsopen"] = sys("fsopen", b"proc", 0)
out["open_tree"] = sys("open_tree", -100, b"/proc", 1)  # AT_FDCWD, OPEN_TREE_CLONE
out["listing"] = os.listdir("/tmp/p")
""")
    r = await ctx.box.exec("mount -t proc proc /tmp/p >/dev/null 2>&1 && echo ESCAPED; true")
    assert out.pop("listing") == [] and "ESCAPED" not in r.stdout, (out, r.stdout)
    assert set(out.values()) <= {errno.EPERM, errno.ENOSYS, errno.EACCES}, out


@probe("privilege", "perf_event_open variants: hardware cycles on itself, a system-wide software clock on cpu 0, "
       "a tracepoint, the agent (pid 1)")
async def probe_perf_event_variants(ctx):
    out = await py(ctx.box, SYSCALLS + """
import struct
def attr(kind, config):
    return ctypes.create_string_buffer(struct.pack("=IIQ", kind, 128, config) + bytes(112))
variants = {"hw_self": (attr(0, 0), 0, -1), "sw_cpu0": (attr(1, 0), -1, 0), "tracepoint": (attr(2, 1), 0, -1),
            "agent": (attr(1, 0), 1, -1)}
for name, (a, pid, cpu) in variants.items():
    out[name] = sys("perf_event_open", a, pid, cpu, -1, 0)
""")
    assert set(out.values()) == {errno.EPERM}, out


@probe("privilege", "keyctl variants: join a named session keyring, describe, read and search @u and @s, "
       "get the persistent keyring, session to parent")
async def probe_keyctl_variants(ctx):
    out = await py(ctx.box, SYSCALLS + """
buf = ctypes.create_string_buffer(256)
calls = {"join_session": (1, b"agentrl-probe"), "describe_session": (6, -3, buf, 256), "read_user": (11, -4, buf, 256),
         "search_user": (10, -4, b"user", b"agentrl-probe", 0), "persistent": (22, -1, -4),
         "session_to_parent": (18,), "setperm": (5, -3, 0x3f3f3f3f)}
for name, args in calls.items():
    out[name] = sys("keyctl", *args)
""")
    r = await ctx.box.exec("keyctl show @s >/dev/null 2>&1 && echo ESCAPED; true")
    assert set(out.values()) <= {errno.EPERM, errno.ENOSYS}, out
    assert "ESCAPED" not in r.stdout, r.stdout
