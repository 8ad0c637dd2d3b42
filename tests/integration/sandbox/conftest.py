"""Shared, session-scoped fixtures for the real sandbox tests: one engine check, one base image, one pool.

The Docker tests need a running engine and the base image; `bash launch/setup_docker.sh` provides both
(the test command runs it). Building the image here would hide a broken setup, so a missing engine or
image fails loudly with the fix. At the end of the session no container of ours may be left.
"""

import subprocess

import pytest

from agentrl.sandbox import SandboxLimits, SandboxPool
from agentrl.sandbox.docker_backend import BASE_IMAGE
from agentrl.sandbox.owner import OWNER_LABEL, owner_id

# Small limits so the escape tests hit them quickly.
LIMITS = SandboxLimits(memory=256 * 2**20, cpus=1.0, pids=64, disk=32 * 2**20, command_timeout=20,
                       output_cap=16 * 2**10)


def pytest_configure(config):
    config.addinivalue_line("markers", "bwrap: starts real bubblewrap sandboxes (needs the bwrap binary)")


def our_containers(label: str = f"{OWNER_LABEL}={owner_id()}") -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={label}"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@pytest.fixture(scope="session")
def docker_ready():
    info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, check=False)
    assert info.returncode == 0, f"no Docker engine answers ({info.stderr.strip()}); run `bash launch/setup_docker.sh`"
    image = subprocess.run(["docker", "image", "inspect", BASE_IMAGE], capture_output=True, check=False)
    assert image.returncode == 0, f"{BASE_IMAGE} is missing; run `bash launch/setup_docker.sh` (or agentrl sandbox build-base)"
    yield
    left = our_containers()
    assert not left, f"containers left behind by this test session: {left}"


@pytest.fixture(scope="session")
async def pool(docker_ready):
    async with SandboxPool.docker(limits=LIMITS, size=3) as p:
        yield p
