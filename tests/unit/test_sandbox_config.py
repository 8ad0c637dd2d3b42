"""Pure checks of sandbox configuration: limits validation, the Docker security settings, the bwrap argv,
owner labels and apt mirror discovery."""

import os

import pytest

from agentrl.errors import ConfigError
from agentrl.sandbox.base import ExecResult, SandboxLimits
from agentrl.sandbox.bwrap_backend import SCRATCH, bwrap_command
from agentrl.sandbox.docker_backend import container_config
from agentrl.sandbox.image import apt_mirror
from agentrl.sandbox.owner import is_orphan, owner_id, owner_labels


@pytest.mark.parametrize("field,value", [("memory", 0), ("memory", 1024), ("pids", 2), ("cpus", -1),
                                         ("output_cap", 1.5), ("command_timeout", 0), ("disk", True)])
def test_limits_reject_bad_values_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        SandboxLimits(**{field: value})


def test_exec_result_ok_needs_zero_exit_and_no_timeout():
    assert ExecResult(0, "", "").ok
    assert not ExecResult(0, "", "", timed_out=True).ok and not ExecResult(1, "", "").ok


def test_docker_config_locks_the_container_down():
    limits = SandboxLimits(memory=256 * 2**20, cpus=0.5, pids=64, disk=100 * 2**20)
    create, host = container_config("img", limits, "/work", {"agentrl.sandbox": "1"})
    assert host["network_mode"] == "none" and host["privileged"] is False
    assert host["cap_drop"] == ["ALL"] and host["security_opt"] == ["no-new-privileges"]
    assert host["read_only"] is True and host["auto_remove"] is True
    assert host["mem_limit"] == host["memswap_limit"] == 256 * 2**20
    assert host["nano_cpus"] == 500_000_000 and host["pids_limit"] == 64
    assert f"size={100 * 2**20}" in host["tmpfs"]["/work"] and "nosuid" in host["tmpfs"]["/tmp"]
    assert create["user"] == "65534:65534" and create["stdin_open"] is True
    assert "binds" not in host and "mounts" not in host  # nothing of the host, above all not docker.sock
    assert host["cgroupns"] == "private" and create["environment"]["AGENTRL_SECCOMP"]  # the agent installs it


def test_bwrap_argv_unshares_everything_and_sets_rlimits():
    argv = bwrap_command(SandboxLimits(memory=2**30, pids=50, disk=2**20), "/work", None, None, seccomp_fd=7)
    assert argv[:5] == ["prlimit", f"--as={2**30}", "--nproc=50", f"--fsize={2**20}", "--nofile=1024"]
    bw = argv[argv.index("bwrap"):]
    assert "--unshare-all" in bw and "--die-with-parent" in bw and "--share-net" not in bw
    assert bw[bw.index("--cap-drop") + 1] == "ALL" and bw[bw.index("--seccomp") + 1] == "7"
    # The agent is pid 1 (nothing else holds its pipes), no nested user namespaces, sized tmpfs mounts.
    assert "--as-pid-1" in bw and "--disable-userns" in bw and "--unshare-user" in bw
    sized = {bw[i + 3]: int(bw[i + 1]) for i, a in enumerate(bw) if a == "--size" and bw[i + 2] == "--tmpfs"}
    binds = [bw[i + 1] for i, a in enumerate(bw) if a in ("--bind", "--ro-bind", "--dev-bind")]
    if os.geteuid() == 0:  # /work and /tmp come from a private mount namespace, capped in bytes and inodes
        script = argv[argv.index("-c") + 1]
        assert f"size={2**20},nr_inodes=4096 agentrl-work" in script and "nosuid,nodev" in script
        assert argv[argv.index("unshare"):argv.index("unshare") + 4] == ["unshare", "--mount", "--propagation", "private"]
        assert sized == {"/dev/shm": 16 * 2**20} and binds == ["/usr", f"{SCRATCH}/tmp", f"{SCRATCH}/work"]
    else:  # /tmp gets a quarter of `disk`, at least 1 MiB
        assert sized == {"/dev/shm": 16 * 2**20, "/work": 2**20, "/tmp": 2**20} and binds == ["/usr"]
    # bwrap's own root and /dev tmpfs mounts are unsized: read-only, with a sized /dev/shm on top.
    assert [bw[i + 1] for i, a in enumerate(bw) if a == "--remount-ro"] == ["/dev", "/"]
    assert ("setpriv" in argv) == (os.geteuid() == 0)


def test_owner_labels_and_orphans():
    labels = owner_labels()
    assert labels["agentrl.sandbox"] == "1" and labels["agentrl.owner"] == owner_id()
    assert not is_orphan(owner_id())  # we are alive
    host = owner_id().split("/")[0]
    assert is_orphan(f"{host}/999999999/123")  # no such pid
    assert not is_orphan("some-other-host/1/1") and not is_orphan(None) and not is_orphan("garbage")


def test_apt_mirror_reads_deb822_and_classic_sources(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\n")
    assert apt_mirror(str(tmp_path)) == "http://mirror.example/debian"
    classic = tmp_path / "c"
    classic.mkdir()
    (classic / "sources.list").write_text("deb [arch=amd64] http://classic.example/debian bookworm main\n")
    assert apt_mirror(str(classic)) == "http://classic.example/debian"
    assert apt_mirror(str(tmp_path / "none")) == "http://deb.debian.org/debian"
