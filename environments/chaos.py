"""The envs of the chaos run (bench/chaos.py): real components with a fault schedule the ledger can recompute.

    distributed.setup: ["agentrl.environments.chaos:register"]
    env: {id: chaos/GuessNumber-v0}        games/GuessNumber-v0 with a verifier that raises on scheduled seeds
    env: {id: chaos/Sandbox-v0}            each turn runs a real command in the SWE env's Docker sandbox

A scheduled verifier fault is a function of the episode seed alone (`verifier_fault`), so the ledger knows,
from the schedule and nothing the run wrote, which episodes must end ``verifier_error``, and an uninterrupted
reference run has the same ones. The sandbox env's container carries the label ``agentrl.chaos=<run>`` so the
bench can `docker kill` it mid-command and then check that no container of the run is left.
"""

from __future__ import annotations

import shlex
import zlib
from collections.abc import Mapping
from typing import Any

from agentrl.env import StepResult
from agentrl.types import Task

GUESS = "chaos/GuessNumber-v0"
SANDBOX = "chaos/Sandbox-v0"
LABEL = "agentrl.chaos"
VERIFIER_PERIOD = 8  # about one episode in 8 has a verifier that raises


def verifier_fault(task_id: str, seed: int, period: int = VERIFIER_PERIOD) -> bool:
    """Whether the chaos verifier raises for this episode (the fault schedule). Seeds repeat across a step's tasks
    (a sample's seed does not depend on the task), so the task takes part."""
    return zlib.crc32(f"{task_id}:{seed}".encode()) % period == 0


class ScheduledVerifierFault(RuntimeError):
    """Raised by the chaos verifier on the episodes `verifier_fault` picks."""


def _fault_check(episode: Any) -> float:
    if verifier_fault(episode.task.id, episode.seed):
        raise ScheduledVerifierFault(f"scheduled verifier fault (task {episode.task.id}, seed {episode.seed})")
    return 0.0


def guess_rubric() -> Any:
    """GuessNumber's rubric plus a logged-only outcome term that raises on scheduled episodes."""
    from agentrl import registry
    from agentrl.rubric import Rubric

    rubric = registry.rubric("games/GuessNumber-v0")
    extra = Rubric(outcome={"chaos_check": (_fault_check, 0.0)})
    rubric.outcome_terms = (*rubric.outcome_terms, *extra.outcome_terms)
    rubric.weights["chaos_check"] = 0.0
    return rubric


def sandbox_tasks(split: str = "train") -> list[Task]:
    words = ["apple", "river", "stone", "cloud", "ember", "maple", "delta", "prism"]
    return [Task(id=f"word-{w}", prompt=({"role": "user", "content": f"Say the word {w}."},),
                 reference={"word": w}, split=split) for w in words]


class SandboxEnv:
    """Each reply is counted by a real command (``sleep; wc -c``) inside a locked-down Docker sandbox (the SWE
    env's factory and limits); the env reward is 1 when the reply holds the task's word. A container killed
    under it fails the command, so the episode ends ``env_error``."""

    possible_agents = ("agent",)

    def __init__(self, run: str = "chaos", command_s: float = 0.3, image: str | None = None):
        from agentrl.environments.swe.env import AGENT_LIMITS
        from agentrl.environments.swe.grader import docker_factory
        from agentrl.sandbox.docker_backend import BASE_IMAGE

        self.factory = docker_factory(AGENT_LIMITS, {LABEL: run})
        self.image, self.command_s = image or BASE_IMAGE, command_s
        self.box: Any = None
        self.word = ""

    async def reset(self, task: Task, seed: int) -> dict:
        await self.close()
        self.word = str(task.reference["word"])
        self.box = await self.factory(self.image)
        return {"agent": [*task.prompt]}

    async def step(self, actions: Mapping[str, str]) -> StepResult:
        from agentrl.sandbox.base import SandboxError

        reply = actions["agent"]
        result = await self.box.exec(f"sleep {self.command_s}; printf %s {shlex.quote(reply[:500])} | wc -c",
                                     timeout=60)
        if not result.ok:  # the command is ours and cannot fail: a failure is the sandbox's, never the agent's
            raise SandboxError(f"sandbox command failed (exit {result.exit_code}): {result.stderr[-200:]!r}")
        hit = float(self.word in reply.lower())
        info = {"chars": int(result.stdout.strip() or 0)}
        return StepResult({}, {"agent": hit}, {"agent": True}, {"agent": False}, {"agent": info})

    async def close(self) -> None:
        box, self.box = self.box, None
        if box is not None:
            await box.close()


def register() -> None:
    from agentrl import registry

    guess = registry.spec("games/GuessNumber-v0")
    registry.register(GUESS, guess.entry_point, tasks=guess.tasks, rubric=guess_rubric, max_turns=guess.max_turns,
                      kwargs=dict(guess.kwargs), description="GuessNumber with scheduled verifier faults",
                      override=True)
    registry.register(SANDBOX, SandboxEnv, tasks=sandbox_tasks, max_turns=1, override=True,
                      description="one command per reply in a Docker sandbox")
