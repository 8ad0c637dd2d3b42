"""``swe/MiniSWEAgent-v0``: an open-source agent harness from PyPI, unchanged, on the shipped SWE tasks.

mini-swe-agent (https://github.com/SWE-agent/mini-swe-agent, installed by launch/setup_harness.sh into a
folder on the host) runs inside the task's sandbox, the same locked-down container `swe/LocalPy-v0` gives
its agent (the buggy repository at /work/repo, no network), with its ``mini`` command line in batch mode:
its own prompts, its own bash tool (calls in the OpenAI tool format), its own loop and step limit. Its model
is the gateway (``-m openai/agentrl`` through litellm, at the relay's base URL), so every request it makes is
a token-exact `Turn`; see environments/external_sandbox.py for how the sandbox reaches the gateway.

How the harness reaches Python: the task images carry Debian bookworm's ``python3`` (3.11) with pytest;
the harness folder (pure wheels for CPython 3.11, byte-compiled on the host) is mounted read-only at
``/opt/harness`` and put on ``sys.path`` by the launch line only, so the commands the agent runs (and the
repository's tests) see the image's Python unchanged.

When ``mini`` exits, its changes are collected as a patch against the base commit (in the same sandbox) and
graded by the SWE grader exactly as `swe/LocalPy-v0` grades a submission (a fresh sandbox, protected test
files dropped, the hidden test patch applied, FAIL_TO_PASS and PASS_TO_PASS run). Outcome rewards:
``resolved`` (weight 1) and ``partial_credit`` (logged). `register_env()` registers the env (like
external/SayWord-v0, it is not among the built-in envs: it plays its whole episode in reset).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

from agentrl.environments.external import ProgramResult, ProgramRubric
from agentrl.environments.external_sandbox import SandboxProgramEnv, docker_sandboxes
from agentrl.environments.swe import env as swe_env
from agentrl.environments.swe.grader import REPO, Grader, collect_patch
from agentrl.environments.swe.tasks import instance_of, shipped_instances
from agentrl.errors import ConfigError
from agentrl.policy_contract import ScriptedPolicy
from agentrl.registry import register
from agentrl.sandbox.base import SandboxError
from agentrl.types import Task

ENV_ID = "swe/MiniSWEAgent-v0"
HARNESS = "mini-swe-agent"
HARNESS_MOUNT = "/opt/harness"
TRAJECTORY = "/tmp/agentrl-mini.traj.json"
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"  # how a mini-swe-agent agent says it is done
LIMITS = dataclasses.replace(swe_env.AGENT_LIMITS, memory=1536 * 2**20)  # litellm alone takes ~250 MB
# The harness's own entry point, with its folder on sys.path for this process only (-I: no PYTHON* variables).
_MINI = (f"import sys; sys.path.insert(0, {HARNESS_MOUNT!r}); sys.argv[0] = 'mini'; "
         "from minisweagent.run.mini import app; app()")
_INSTANCE = re.compile(r"Instance: (\S+)")
_EOF = "AGENTRL_PATCH_EOF"


def harness_dir() -> Path:
    """The host folder launch/setup_harness.sh installed mini-swe-agent into (a clear error when it is missing)."""
    root = Path(os.environ.get("AGENTRL_HARNESS_DIR") or Path.home() / ".cache" / "agentrl" / "harness")
    folder = root / HARNESS
    if not (folder / ".agentrl-harness").is_file() or not (folder / "minisweagent").is_dir():
        raise ConfigError(f"mini-swe-agent is not installed at {folder}: run `bash launch/setup_harness.sh` "
                          "(it installs the pinned harness on this host; set AGENTRL_HARNESS_DIR to put it elsewhere).")
    return folder


def task_text(task: Task) -> str:
    instance = instance_of(task)
    return (f"Instance: {instance.instance_id} (repository {instance.repo}, checked out at /work/{REPO})\n\n"
            f"{instance.problem_statement}")


class MiniSWEAgentEnv(SandboxProgramEnv):
    """mini-swe-agent on one SWE task per episode. `step_limit` is mini's (model calls); `timeout` bounds the
    whole run; `command_timeout` each of its bash commands; `grader` grades the patch (default: the SWE
    grader in fresh Docker sandboxes)."""

    def __init__(self, *, step_limit: int = 30, timeout: float = 900.0, command_timeout: int = 60,
                 grader: Grader | None = None, sandboxes: Any = None, model: str = "agentrl"):
        limits = dataclasses.replace(LIMITS, episode_timeout=timeout + 120.0)
        super().__init__(self._command, image=lambda task: instance_of(task).image,
                         mounts=[(harness_dir(), HARNESS_MOUNT)], timeout=timeout, model=model, cwd=REPO,
                         sandboxes=sandboxes or docker_sandboxes(limits, {"agentrl.swe": "episode"}),
                         env={"MSWEA_CONFIGURED": "true", "MSWEA_SILENT_STARTUP": "1",
                              "MSWEA_GLOBAL_CONFIG_DIR": "/tmp/mini-swe-agent", "MSWEA_COST_TRACKING": "ignore_errors",
                              "LITELLM_LOCAL_MODEL_COST_MAP": "True", "TERM": "dumb"})
        self.step_limit, self.command_timeout = step_limit, command_timeout
        self.grader = grader or Grader()

    def _command(self, task: Task) -> str:
        args = ["-y", "--exit-immediately", "--agent-class", "default", "--environment-class", "local",
                "-m", f"openai/{self.model}", "-t", task_text(task), "-o", TRAJECTORY, "-c", "mini.yaml",
                "-c", f"agent.step_limit={self.step_limit}", "-c", f"environment.cwd={self.sandbox.workdir}/{REPO}",
                "-c", f"environment.timeout={self.command_timeout}"]
        # litellm's OpenAI client reads OPENAI_BASE_URL; OPENAI_API_BASE (which wins) is set to it as well.
        return ('export OPENAI_API_BASE="$OPENAI_BASE_URL"; python3 -I -c ' + shlex.quote(_MINI) + " "
                + " ".join(shlex.quote(a) for a in args))

    async def after_program(self, task: Task, result: ProgramResult) -> ProgramResult:
        instance = instance_of(task)
        trajectory: dict[str, Any] = {}
        try:
            trajectory = json.loads(await self.sandbox.read_file(TRAJECTORY))
        except (FileNotFoundError, ValueError, SandboxError):
            pass  # mini failed before saving it: the exit code and stderr say why
        try:
            patch = await collect_patch(self.sandbox, instance.base_commit)
        except SandboxError:  # the agent broke its repository's git: it handed in nothing usable
            patch = ""
        grade = await self.grader.grade(instance, patch)
        info = trajectory.get("info") or {}
        value = {"grade": {k: v for k, v in grade.report().items() if k != "seconds"}, "patch": patch,
                 "exit_status": info.get("exit_status"), "api_calls": (info.get("model_stats") or {}).get("api_calls")}
        return dataclasses.replace(result, value=value)


# --- rewards ------------------------------------------------------------------------------------------------------
def _info(env: Any) -> dict[str, Any]:
    result = getattr(env, "result", None)
    return (result.value or {}) if result is not None else {}


def resolved(env) -> float:
    """1 when the harness's changes make every FAIL_TO_PASS and PASS_TO_PASS test pass (SWE-bench's resolved)."""
    return swe_env.resolved(_info(env))


def partial_credit(env) -> float:
    return swe_env.partial_credit(_info(env))


def rubric() -> ProgramRubric:
    return ProgramRubric(outcome={"resolved": (resolved, 1.0), "partial_credit": (partial_credit, 0.0)})


# --- scripted endpoint -------------------------------------------------------------------------------------------
def _bash(command: str) -> str:
    return f"<tool_call>{json.dumps({'name': 'bash', 'arguments': {'command': command}})}</tool_call>"


def gold_fix_policy(seed: int = 0) -> ScriptedPolicy:
    """A model endpoint that emits the task's gold fix as a bash tool call (a `git apply` of the reference
    patch), then mini-swe-agent's submit command: the episode it plays scores 1."""
    known = {i.instance_id: i for i in shipped_instances()}

    def script(agent, messages, rng) -> str:
        found = next((m for m in (_INSTANCE.search(x.get("content") or "") for x in messages if x["role"] == "user")
                      if m), None)
        instance = known.get(found.group(1)) if found else None
        if instance is None or any(m["role"] == "assistant" for m in messages):
            return f"Done.\n{_bash(SUBMIT)}"
        return f"I will apply the fix.\n{_bash(f'git apply <<{_EOF!r}' + chr(10) + instance.patch + _EOF)}"

    return ScriptedPolicy(script, seed=seed)


def register_env(timeout: float = 900.0, step_limit: int = 30) -> None:
    register(ENV_ID, MiniSWEAgentEnv, tasks="agentrl.environments.swe.tasks:tasks",
             rubric="agentrl.environments.external_swe:rubric",
             scripted_policy="agentrl.environments.external_swe:gold_fix_policy",
             kwargs={"timeout": timeout, "step_limit": step_limit}, max_turns=1, override=True,
             description="mini-swe-agent (from PyPI, unchanged) fixes a shipped SWE task in its sandbox, through "
                         "the gateway; graded like SWE-bench.")
