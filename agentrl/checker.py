"""`check_env`: does an environment keep the contract? (Like Gymnasium's env checker and PettingZoo's api test.)

    report = check_env("games/GuessNumber-v0")
    print(report)

Checks, with the env's scripted policy (told the task when its factory takes ``task``; or a policy that replies
with random short text):
- seeded determinism: the same task, seed and scripted policy give the same episode twice;
- key consistency: observations, rewards, terminations, truncations and infos only name possible agents;
- dead agents stay dead, and stepping a finished episode raises `EpisodeOverError`;
- wrong action keys raise `ActionError`;
- `close` is idempotent;
- the episode round-trips through JSON lines and the rubric scores it without verifier errors.

Raises `CheckError` naming the first broken rule; returns a `CheckReport` otherwise.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import Any

from agentrl import registry
from agentrl.env import ContractGuard
from agentrl.errors import ActionError, CheckError, EpisodeOverError
from agentrl.policy_contract import Policy, ScriptedPolicy
from agentrl.rollout import run_episode
from agentrl.types import Episode, Status, Task, read_jsonl, write_jsonl


@dataclasses.dataclass(frozen=True)
class CheckReport:
    env_id: str
    passed: tuple[str, ...]
    episodes: tuple[Episode, ...]

    def __str__(self) -> str:
        lines = [f"{self.env_id}: {len(self.passed)} checks passed"] + [f"  ok  {p}" for p in self.passed]
        for ep in self.episodes:
            lines.append(f"  episode task={ep.task.id} seed={ep.seed} status={ep.status.value} turns={len(ep.turns)} "
                         f"reward={ {a: round(r, 3) for a, r in ep.reward.items()} }")
        return "\n".join(lines)


def _babble_policy(seed: int) -> ScriptedPolicy:
    words = ["0", "1", "2", "yes", "no", "up", "stop", "hello"]
    return ScriptedPolicy(lambda agent, messages, rng: rng.choice(words), seed=seed)


def _comparable(ep: Episode) -> dict[str, Any]:
    d = ep.to_dict()
    for volatile in ("id", "metrics", "info"):
        d.pop(volatile)
    return d


async def check_env(env_id: str, *, tasks: list[Task] | None = None, policy_factory: Any = None,
                    seeds: tuple[int, ...] = (0, 1), num_tasks: int = 2) -> CheckReport:
    """Run the contract checks on a registered env; see the module docstring."""
    spec = registry.spec(env_id)
    tasks = tasks or registry.tasks(env_id, "train")[:num_tasks]
    if not tasks:
        raise CheckError(f"{env_id}: no tasks to check with; register tasks=... or pass tasks=[...].")
    def factory(seed: int, task: Task) -> Policy:  # a scripted policy is told its task (see EnvSpec)
        if policy_factory is not None:
            return registry.call_policy_factory(policy_factory, seed, task)
        return registry.scripted_policy(env_id, seed, task) or _babble_policy(seed)

    rubric = registry.rubric(env_id)
    passed: list[str] = []
    episodes: list[Episode] = []

    for task in tasks:
        for seed in seeds:
            first = await run_episode(registry.make(env_id), factory(seed, task), task, seed, rubric,
                                      max_turns=spec.max_turns)
            second = await run_episode(registry.make(env_id), factory(seed, task), task, seed, rubric,
                                       max_turns=spec.max_turns)
            if first.status.is_failure:
                raise CheckError(f"{env_id}: episode on task {task.id!r} seed {seed} failed with "
                                 f"{first.status.value}: {first.error}")
            if _comparable(first) != _comparable(second):
                raise CheckError(f"{env_id}: two runs with task {task.id!r}, seed {seed} and the same scripted "
                                 "policy differ. Derive all randomness from the seed passed to reset().")
            episodes.append(first)
    passed += ["scripted episodes run without failures", "same seed gives the same episode",
               "rubric scores episodes without verifier errors"]

    await _check_manual_stepping(env_id, tasks[0], factory(seeds[0], tasks[0]), spec.max_turns, passed)
    _check_jsonl(episodes, passed)
    return CheckReport(env_id, tuple(passed), tuple(episodes))


async def _check_manual_stepping(env_id: str, task: Task, policy: Policy, max_turns: int, passed: list[str]) -> None:
    env = registry.make(env_id)
    try:
        obs = await env.reset(task, 0)
        if not obs:
            raise CheckError(f"{env_id}: reset() observed no agent; at least one agent must act first.")
        bogus = {"__nobody__": "hello"}
        try:
            await env.step(bogus)
        except ActionError:
            passed.append("wrong action keys raise ActionError")
        else:
            raise CheckError(f"{env_id}: step() accepted actions for an unknown agent.")
        conversations: dict[str, list] = {}
        for _ in range(max_turns):
            if not obs:
                break
            actions = {}
            for agent, messages in obs.items():
                conversations.setdefault(agent, []).extend(messages)
                turn = await policy.generate(agent, conversations[agent], None)
                conversations[agent].append(turn.messages[-1])
                actions[agent] = turn.text
            result = await env.step(actions)  # ContractGuard raises CheckError on unknown or dead agents
            _check_keys(env, result)
            obs = result.obs
        passed.append("results name only possible agents; dead agents stay dead")
        if env.episode_over:
            try:
                await env.step({})
            except EpisodeOverError:
                passed.append("step after the episode ended raises EpisodeOverError")
            else:
                raise CheckError(f"{env_id}: step() after the episode ended did not raise.")
    finally:
        await env.close()
    await env.close()
    passed.append("close() is idempotent")


def _check_keys(env: ContractGuard, result: Any) -> None:
    for name in ("rewards", "terminated", "truncated", "infos"):
        unknown = set(getattr(result, name)) - set(env.possible_agents)
        if unknown:
            raise CheckError(f"{env.env_id}: StepResult.{name} names {sorted(unknown)}, not in possible_agents.")


def _check_jsonl(episodes: list[Episode], passed: list[str]) -> None:
    fd, path = tempfile.mkstemp(suffix=".jsonl")
    os.close(fd)
    try:
        write_jsonl(path, episodes, append=False)
        back = list(read_jsonl(path))
    finally:
        os.unlink(path)
    if [e.to_dict() for e in back] != [e.to_dict() for e in episodes]:
        raise CheckError("episodes changed after a JSON lines round trip; keep infos and rewards JSON-serialisable.")
    if any(e.status is Status.VERIFIER_ERROR for e in episodes):
        raise CheckError("the rubric failed on scripted episodes; see episode.info['reward_errors'].")
    passed.append("episodes round-trip through JSON lines")
