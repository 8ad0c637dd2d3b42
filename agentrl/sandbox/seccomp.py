"""A small seccomp filter for the bubblewrap backend (Docker applies its own default profile).

bwrap takes a compiled classic-BPF program on a file descriptor (`--seccomp FD`) and installs it after
setting up the namespaces; every process in the sandbox inherits it. We build the program here by hand
rather than depend on libseccomp: it is a deny list of a dozen syscalls, which needs nothing but a
comparison chain.

Denied (EPERM), because the namespaces do not contain them:
- kernel keyrings (`add_key`, `request_key`, `keyctl`): keys are not isolated per sandbox, so one sandbox
  could leave data for another, or read the host user's keys;
- reaching into other processes (`ptrace`, `process_vm_readv/writev`, `pidfd_getfd`): the agent's
  channel to the host must stay the agent's (a stolen descriptor forges replies);
- kernel attack surface that no command needs (`bpf`, `perf_event_open`, `userfaultfd`, io_uring,
  module and kexec loading, `open_by_handle_at`).
Foreign ABIs are refused whole, since their numbers differ and the list would not apply to them: i386
calls on x86-64 get ENOSYS, x32 calls (numbers with bit 30 set) EPERM.
"""

from __future__ import annotations

import errno
import os
import platform
import struct

from agentrl.sandbox.base import SandboxError

# Syscall numbers per machine: (audit arch, {name: number}).
_TABLES = {
    "x86_64": (0xC000003E, {
        "add_key": 248, "request_key": 249, "keyctl": 250, "ptrace": 101, "process_vm_readv": 310,
        "process_vm_writev": 311, "pidfd_getfd": 438, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "init_module": 175,
        "finit_module": 313, "delete_module": 176, "kexec_load": 246, "kexec_file_load": 320,
        "open_by_handle_at": 304}),
    "aarch64": (0xC00000B7, {
        "add_key": 217, "request_key": 218, "keyctl": 219, "ptrace": 117, "process_vm_readv": 270,
        "process_vm_writev": 271, "pidfd_getfd": 438, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "init_module": 105,
        "finit_module": 273, "delete_module": 106, "kexec_load": 104, "kexec_file_load": 294,
        "open_by_handle_at": 265}),
}
DENIED = tuple(_TABLES["x86_64"][1])
_X32_BIT = 0x40000000

_LD_ABS, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06
_ALLOW, _ERRNO = 0x7FFF0000, 0x00050000


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def deny_filter(machine: str | None = None) -> bytes:
    """The compiled program (an array of `struct sock_filter`) for this machine's architecture."""
    machine = machine or platform.machine()
    if machine not in _TABLES:
        raise SandboxError(f"no seccomp syscall table for {machine!r} (have {sorted(_TABLES)}); the bwrap "
                           "backend refuses to start without its filter. Use the Docker backend on this machine.")
    arch, numbers = _TABLES[machine]
    checks = ([_X32_BIT] if machine == "x86_64" else []) + sorted(numbers.values())
    n = len(checks)
    # Layout: ld arch; jeq arch; ld nr; n checks; ret allow; ret EPERM; ret ENOSYS.
    prog = [_insn(_LD_ABS, 4), _insn(_JEQ, arch, 0, n + 3), _insn(_LD_ABS, 0)]
    for i, nr in enumerate(checks):
        to_eperm = n - i  # skip the remaining checks and the allow
        prog.append(_insn(_JGE if nr == _X32_BIT else _JEQ, nr, to_eperm, 0))
    prog += [_insn(_RET, _ALLOW), _insn(_RET, _ERRNO | errno.EPERM), _insn(_RET, _ERRNO | errno.ENOSYS)]
    return b"".join(prog)


def filter_fd() -> int:
    """A readable fd holding the program, for `bwrap --seccomp FD` (the caller closes it after the spawn)."""
    program = deny_filter()
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, program)  # a few hundred bytes: far below the pipe buffer, never blocks
    finally:
        os.close(write_end)
    return read_end
