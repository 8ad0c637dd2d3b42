"""The agent that runs inside every sandbox, as its first process (`python3 -c <this file>`).

It speaks a framed protocol on stdin/stdout: each message is a 4-byte big-endian length and a JSON object.
Requests: {"op": "ping"} | {"op": "exec", cmd, timeout, cap, cwd, env} | {"op": "read", path, cap}
| {"op": "write", path, data (base64), mode} | {"op": "tar", path}. Every reply has "ok"; failures carry
"error" and "kind". It exits when stdin closes, so the sandbox dies with its owner's connection.

Why an agent rather than one `docker exec` per command: one round trip on an open stream instead of three
HTTP calls to the engine, and the timeout, output cap and cleanup are enforced next to the process.
It makes itself non-dumpable so commands (same uid) cannot open /proc/<agent>/fd or its memory to forge
replies. With `AGENTRL_SECCOMP` set (the Docker backend sets it: seccomp.py's program, base64) it installs
that seccomp filter on itself before anything else, so every command inherits it; it exits if it cannot.
Standard library only: it must run on any image that has python3.
"""
import base64
import ctypes
import io
import json
import os
import selectors
import signal
import struct
import subprocess
import sys
import tarfile
import time

WORKDIR = os.environ.get("AGENTRL_WORKDIR", "/work")
SEED = "/opt/agentrl/work.tar"
BASE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": WORKDIR,
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
stdin, stdout = sys.stdin.buffer, sys.stdout.buffer


def read_exact(n):
    buf = b""
    while len(buf) < n:
        chunk = stdin.read(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def send(obj):
    data = json.dumps(obj).encode()
    stdout.write(struct.pack(">I", len(data)) + data)
    stdout.flush()


# Under memory pressure the kernel should kill the command, not the agent. Set by the shell itself rather
# than a preexec_fn, which would force a full fork of the agent (1.7 ms more per command, measured).
VICTIM = "echo 1000 >/proc/self/oom_score_adj 2>/dev/null; "


def own_pid_namespace():
    # kill(-1) must only ever run inside the sandbox's own pid namespace (never on a host): the backends
    # say so (both run us as pid 1: Docker, and bwrap with --as-pid-1), and we check that pid 1 is us.
    return os.environ.get("AGENTRL_PIDNS") == "1" and os.getpid() == 1


def kill_command(pgid):
    # A timed-out command may have forked, daemonised or changed session: in our own pid namespace, kill
    # every process we can see except ourselves (kill(-1) skips the caller).
    everything = own_pid_namespace()
    for _ in range(20):
        try:
            os.kill(-1, signal.SIGKILL) if everything else os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return
        reap()
        time.sleep(0.01)


def reap():
    # We may be pid 1: orphans are re-parented to us and must be reaped or they eat the pid limit.
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run(req):
    env = dict(BASE_ENV)
    env.update(req.get("env") or {})
    cap, timeout = int(req["cap"]), float(req["timeout"])
    start = time.monotonic()
    deadline = start + timeout
    try:
        proc = subprocess.Popen(["/bin/sh", "-c", VICTIM + req["cmd"]], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=resolve(req.get("cwd") or WORKDIR), env=env,
                                start_new_session=True)
    except OSError as e:
        return {"ok": True, "exit_code": 127, "stdout": "", "stderr": f"cannot start command: {e}\n",
                "stdout_truncated": False, "stderr_truncated": False, "timed_out": False,
                "duration": time.monotonic() - start}
    bufs = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    seen = dict.fromkeys(bufs, 0)
    sel = selectors.DefaultSelector()
    for fd in bufs:
        sel.register(fd, selectors.EVENT_READ)
    grace_end = None
    while sel.get_map():
        now = time.monotonic()
        if grace_end is None and proc.poll() is not None:
            grace_end = now + 0.05  # background children may hold the pipes open: don't wait for them
        limit = deadline if grace_end is None else min(deadline, grace_end)
        if now >= limit:
            break
        for key, _ in sel.select(min(limit - now, 0.05)):
            chunk = os.read(key.fd, 65536)
            if not chunk:
                sel.unregister(key.fd)
                continue
            seen[key.fd] += len(chunk)
            room = cap - len(bufs[key.fd])
            if room > 0:
                bufs[key.fd] += chunk[:room]
    sel.close()
    try:  # the pipes may close a moment before the exit is reapable
        proc.wait(timeout=max(deadline - time.monotonic(), 0.001))
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_command(proc.pid)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    reap()
    code = 124 if timed_out else (proc.returncode if proc.returncode >= 0 else 128 - proc.returncode)
    o_fd, e_fd = list(bufs)
    return {"ok": True, "exit_code": code, "timed_out": timed_out, "duration": time.monotonic() - start,
            "stdout": bufs[o_fd].decode("utf-8", "replace"), "stderr": bufs[e_fd].decode("utf-8", "replace"),
            "stdout_truncated": seen[o_fd] > cap, "stderr_truncated": seen[e_fd] > cap}


def resolve(path):
    return path if os.path.isabs(path) else os.path.join(WORKDIR, path)


def read(req):
    with open(resolve(req["path"]), "rb") as f:
        data = f.read(int(req["cap"]) + 1)
    cap = int(req["cap"])
    return {"ok": True, "data": base64.b64encode(data[:cap]).decode(), "truncated": len(data) > cap}


def write(req):
    path = resolve(req["path"])
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.agentrl-tmp"
    with open(tmp, "wb") as f:
        f.write(base64.b64decode(req["data"]))
    os.chmod(tmp, int(req.get("mode", 0o644)))
    os.replace(tmp, path)
    return {"ok": True}


def tar(req):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as t:
        t.add(resolve(req["path"]), arcname=".")
    return {"ok": True, "data": base64.b64encode(buf.getvalue()).decode()}


def restore_seed():
    # A snapshot image carries the frozen work dir as a tar; the work dir itself is a fresh tmpfs.
    if os.path.exists(SEED):
        with tarfile.open(SEED) as t:
            kw = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
            t.extractall(WORKDIR, **kw)


OPS = {"exec": run, "read": read, "write": write, "tar": tar, "ping": lambda req: {"ok": True, "pid": os.getpid()}}


def install_seccomp(encoded):
    # struct sock_fprog {unsigned short len; struct sock_filter *filter}, then
    # prctl(PR_SET_NO_NEW_PRIVS, 1) and prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog).
    program = base64.b64decode(encoded)
    buf = ctypes.create_string_buffer(program, len(program))

    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = Fprog(len(program) // 8, ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(38, 1, None, 0, 0) != 0 or libc.prctl(22, 2, ctypes.addressof(fprog), 0, 0) != 0:
        err = ctypes.get_errno()
        sys.stderr.write(f"agentrl sandbox agent: cannot install the seccomp filter: {os.strerror(err)}\n")
        sys.exit(70)


def main():
    try:
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 0
    except Exception:  # noqa: BLE001, S110
        pass
    if os.environ.get("AGENTRL_SECCOMP"):
        install_seccomp(os.environ.pop("AGENTRL_SECCOMP"))
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    os.makedirs(WORKDIR, exist_ok=True)
    restore_seed()
    while True:
        try:
            (n,) = struct.unpack(">I", read_exact(4))
            req = json.loads(read_exact(n))
        except EOFError:
            return
        op = OPS.get(req.get("op"))
        try:
            reply = op(req) if op else {"ok": False, "kind": "ValueError", "error": f"unknown op {req.get('op')!r}"}
        except Exception as e:  # noqa: BLE001
            reply = {"ok": False, "kind": type(e).__name__, "error": str(e)}
        send(reply)


main()
