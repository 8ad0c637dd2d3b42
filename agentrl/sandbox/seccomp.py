"""A small seccomp filter for both sandbox backends.

bwrap takes a compiled classic-BPF program on a file descriptor (`--seccomp FD`) and installs it after
setting up the namespaces. In Docker it comes on top of the engine's default profile: the in-container agent
reads it from the `AGENTRL_SECCOMP` environment variable (base64, `docker_env`) and installs it on itself
before it runs any command (inside_agent.py). Either way every process in the sandbox inherits it. We build
the program here by hand rather than depend on libseccomp: it is a deny list of a couple of dozen syscalls
and one argument check, which needs nothing but a comparison chain.

Denied (EPERM), because the namespaces do not contain them:
- kernel keyrings (`add_key`, `request_key`, `keyctl`): keys are not isolated per sandbox, so one sandbox
  could leave data for another, or read the host user's keys;
- reaching into other processes (`ptrace`, `process_vm_readv/writev`, `pidfd_getfd`): the agent's
  channel to the host must stay the agent's (a stolen descriptor forges replies);
- kernel attack surface that no command needs (`bpf`, `perf_event_open`, `userfaultfd`, io_uring,
  module and kexec loading, `open_by_handle_at`, `syslog`: the kernel log holds the host's messages);
- `socket(AF_VSOCK, ...)`: vsock is not network-namespaced, so on a VM host it reaches the hypervisor and
  other guests past `network_mode=none` and `--unshare-net` (the other families stay with the namespaces).
Foreign ABIs are refused whole, since their numbers differ and the list would not apply to them: i386
calls on x86-64 get ENOSYS, x32 calls (numbers with bit 30 set) EPERM.
"""

from __future__ import annotations

import base64
import errno
import os
import platform
import struct
import sys

from agentrl.sandbox.base import SandboxError

# Syscall numbers per machine: (audit arch, {name: number}).
_TABLES = {
    "x86_64": (0xC000003E, {
        "add_key": 248, "request_key": 249, "keyctl": 250, "ptrace": 101, "process_vm_readv": 310,
        "process_vm_writev": 311, "pidfd_getfd": 438, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "init_module": 175,
        "finit_module": 313, "delete_module": 176, "kexec_load": 246, "kexec_file_load": 320,
        "open_by_handle_at": 304, "syslog": 103}),
    "aarch64": (0xC00000B7, {
        "add_key": 217, "request_key": 218, "keyctl": 219, "ptrace": 117, "process_vm_readv": 270,
        "process_vm_writev": 271, "pidfd_getfd": 438, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "init_module": 105,
        "finit_module": 273, "delete_module": 106, "kexec_load": 104, "kexec_file_load": 294,
        "open_by_handle_at": 265, "syslog": 116}),
}
_SOCKET = {"x86_64": 41, "aarch64": 198}
AF_VSOCK = 40
DENIED = tuple(_TABLES["x86_64"][1])
_X32_BIT = 0x40000000
# seccomp_data: nr at 0, arch at 4, args[0] at 16 (its low 32 bits at 16 little-endian, 20 big-endian)
_ARG0_LOW = 16 if sys.byteorder == "little" else 20
ENV_VAR = "AGENTRL_SECCOMP"

_LD_ABS, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06
_ALLOW, _ERRNO = 0x7FFF0000, 0x00050000


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def deny_filter(machine: str | None = None) -> bytes:
    """The compiled program (an array of `struct sock_filter`) for this machine's architecture."""
    machine = machine or platform.machine()
    if machine not in _TABLES:
        raise SandboxError(f"no seccomp syscall table for {machine!r} (have {sorted(_TABLES)}); the sandbox "
                           "backends refuse to start without their filter. Run on x86-64 or aarch64.")
    arch, numbers = _TABLES[machine]
    # (code, k, jump if true, jump if false): a jump is 0 (the next instruction) or a label below.
    prog: list[tuple[int, int, int | str, int | str]] = [
        (_LD_ABS, 4, 0, 0), (_JEQ, arch, 0, "enosys"), (_LD_ABS, 0, 0, 0)]
    if machine == "x86_64":
        prog.append((_JGE, _X32_BIT, "eperm", 0))
    prog += [(_JEQ, nr, "eperm", 0) for nr in sorted(numbers.values())]
    prog += [(_JEQ, _SOCKET[machine], 0, "allow"), (_LD_ABS, _ARG0_LOW, 0, 0),
             (_JEQ, AF_VSOCK, "eperm", "allow")]
    labels = {"allow": len(prog), "eperm": len(prog) + 1, "enosys": len(prog) + 2}
    prog += [(_RET, _ALLOW, 0, 0), (_RET, _ERRNO | errno.EPERM, 0, 0), (_RET, _ERRNO | errno.ENOSYS, 0, 0)]

    def offset(i: int, to: int | str) -> int:
        return 0 if to == 0 else labels[to] - i - 1

    return b"".join(_insn(code, k, offset(i, jt), offset(i, jf)) for i, (code, k, jt, jf) in enumerate(prog))


def docker_env() -> dict[str, str]:
    """The environment entry that makes the in-container agent install the filter (inside_agent.py)."""
    return {ENV_VAR: base64.b64encode(deny_filter()).decode()}


def filter_fd() -> int:
    """A readable fd holding the program, for `bwrap --seccomp FD` (the caller closes it after the spawn)."""
    program = deny_filter()
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, program)  # a few hundred bytes: far below the pipe buffer, never blocks
    finally:
        os.close(write_end)
    return read_end
