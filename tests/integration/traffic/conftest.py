"""Traffic envs are registered here with override=True (the package's own registration may not be wired yet)."""

import os

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


@pytest.fixture(scope="session", autouse=True)
def traffic_envs():
    from agentrl.environments.traffic import register_envs

    register_envs(override=True)
