"""The sandboxes' seccomp program: a valid classic-BPF deny list for each supported machine, run here through a
small classic-BPF interpreter on the `seccomp_data` the kernel would hand it."""

import base64
import errno
import struct

import pytest

from agentrl.errors import AgentRLError
from agentrl.sandbox.seccomp import _TABLES, AF_VSOCK, DENIED, ENV_VAR, deny_filter, docker_env

ALLOW, EPERM, ENOSYS = 0x7FFF0000, 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
SOCKET = {"x86_64": 41, "aarch64": 198}
READ = {"x86_64": 0, "aarch64": 63}


def run(program: bytes, nr: int, arch: int, arg0: int = 0) -> int:
    """What the kernel's classic-BPF machine returns for this syscall (only the opcodes the filter may use)."""
    data = struct.pack("=iIQ6Q", nr, arch, 0, arg0, 0, 0, 0, 0, 0)
    prog = [struct.unpack("=HBBI", program[i:i + 8]) for i in range(0, len(program), 8)]
    pc, acc = 0, 0
    for _ in range(len(prog)):  # no backward jumps in classic BPF: at most one pass
        code, jt, jf, k = prog[pc]
        if code == 0x20:  # ld [k]
            acc, pc = struct.unpack_from("=I", data, k)[0], pc + 1
        elif code in (0x15, 0x35):  # jeq / jge
            pc += 1 + (jt if (acc == k if code == 0x15 else acc >= k) else jf)
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x} at {pc}")
    raise AssertionError("the program ran off its end")


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_filter_denies_each_listed_syscall_and_vsock_sockets(machine):
    program = deny_filter(machine)
    arch, numbers = _TABLES[machine]
    assert set(numbers) == set(DENIED) and {"syslog", "keyctl", "init_module", "perf_event_open"} <= set(numbers)
    for name, nr in numbers.items():
        assert run(program, nr, arch) == EPERM, name
    assert run(program, READ[machine], arch) == ALLOW
    assert run(program, SOCKET[machine], arch, AF_VSOCK) == EPERM
    for family in (1, 2, 10, 16):  # AF_UNIX, AF_INET, AF_INET6, AF_NETLINK: left to the namespaces
        assert run(program, SOCKET[machine], arch, family) == ALLOW
    assert run(program, SOCKET[machine], arch, AF_VSOCK | 1 << 32) == EPERM  # only the int's low 32 bits count
    assert run(program, READ[machine], 0x40000003) == ENOSYS  # a foreign ABI (i386) is refused whole
    if machine == "x86_64":
        assert run(program, 0x40000000 | 1, arch) == EPERM  # x32


def test_docker_env_carries_the_same_program():
    assert base64.b64decode(docker_env()[ENV_VAR]) == deny_filter()


def test_unknown_machine_is_refused_with_the_fix():
    with pytest.raises(AgentRLError, match="x86-64 or aarch64"):
        deny_filter("riscv64")
