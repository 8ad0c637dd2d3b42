"""The bwrap backend's seccomp program: a valid classic-BPF deny list for each supported machine."""

import struct

import pytest

from agentrl.errors import AgentRLError
from agentrl.sandbox.seccomp import DENIED, deny_filter


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_filter_checks_the_arch_then_denies_each_listed_syscall(machine):
    prog = [struct.unpack("=HBBI", deny_filter(machine)[i:i + 8]) for i in range(0, len(deny_filter(machine)), 8)]
    assert prog[0] == (0x20, 0, 0, 4) and prog[2] == (0x20, 0, 0, 0)  # load arch, then the syscall number
    allow, eperm, enosys = prog[-3:]
    assert allow[3] == 0x7FFF0000 and eperm[3] == 0x00050001 and enosys[3] == 0x00050026
    assert prog[1][1] == 0 and 2 + prog[1][2] == len(prog) - 1  # a foreign arch jumps to ENOSYS
    checks = prog[3:-3]
    assert len(checks) >= len(DENIED)
    for i, (_, jt, jf, _) in enumerate(checks):
        assert jf == 0 and 3 + i + 1 + jt == len(prog) - 2  # each match jumps to EPERM


def test_unknown_machine_is_refused_with_the_fix():
    with pytest.raises(AgentRLError, match="Docker backend"):
        deny_filter("riscv64")
