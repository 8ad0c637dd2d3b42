"""A program inside a real Docker sandbox (no network) reaches the gateway through the in-sandbox relay and the
gateway's unix socket: the stdlib say-word agent plays its episode there, scripted, and scores 1. Seconds."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentrl.environments import external_demo
from agentrl.environments.external import ProgramRubric
from agentrl.environments.external_sandbox import SandboxProgramEnv
from agentrl.rollout import run_episode
from agentrl.sandbox.docker_backend import BASE_IMAGE
from agentrl.types import Status

pytestmark = [pytest.mark.docker]
PROGRAM_DIR = Path(external_demo.__file__).parent


def test_program_in_the_sandbox_plays_through_the_relay():
    env = SandboxProgramEnv("python3 /opt/program/say_word_agent.py", image=BASE_IMAGE,
                            mounts=[(PROGRAM_DIR, "/opt/program")], timeout=60)
    task = external_demo.tasks()[0]
    episode = asyncio.run(run_episode(env, external_demo.scripted(), task, seed=0,
                                      rubric=ProgramRubric(outcome=[external_demo.said_word])))
    assert episode.status is Status.OK, episode.error
    assert len(episode.turns) == 3 and episode.reward == {"agent": 1.0}
    assert env.result.exit_code == 0 and env.sandbox is None  # closed by run_episode
    assert env._socket_dir is None  # the socket's folder is gone with the gateway


def test_the_network_is_still_none_and_a_silent_program_is_an_env_error():
    # Only the relay's loopback port leads out of the sandbox, and only to this episode's session.
    probe = ("python3 -c \"import os, socket, urllib.request as u; s = socket.socket(); s.settimeout(2); "
             "print('outside', s.connect_ex(('192.0.2.1', 80))); "
             "print(u.urlopen(os.environ['OPENAI_BASE_URL'] + '/models').read().decode())\"")
    env = SandboxProgramEnv(probe, image=BASE_IMAGE, timeout=60)
    episode = asyncio.run(run_episode(env, external_demo.scripted(), external_demo.tasks()[0], seed=0,
                                      rubric=ProgramRubric()))
    # It never called the model: a failed episode, not an exception; what it printed is in the result.
    assert episode.status is Status.ENV_ERROR and "without calling the model" in episode.error
    outside, models = env.result.stdout.splitlines()[:2]
    assert outside != "outside 0" and '"id": "agentrl"' in models, env.result


def test_mounts_are_read_only_and_never_the_engine_socket():
    from agentrl.sandbox.base import SandboxError, SandboxLimits
    from agentrl.sandbox.docker_backend import container_config

    _, host = container_config("img", SandboxLimits(), "/work", {}, (("/opt/h", "/opt/harness"),))
    assert host["binds"] == {"/opt/h": {"bind": "/opt/harness", "mode": "ro"}}
    for src in ("/var/run/docker.sock", "/var/run", "/run", "/"):
        with pytest.raises(SandboxError, match="Docker engine's socket"):
            container_config("img", SandboxLimits(), "/work", {}, ((src, "/x"),))
