"""Tiny builders for Episode/Turn records used by the algorithm tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agentrl.types import Episode, Status, Task, Turn


def turn(index: int = 0, agent: str = "a", rewards: Mapping[str, float | None] | None = None,
         state: Any = None, tokens: int = 1) -> Turn:
    info = {"state_key": state} if state is not None else {}
    return Turn(agent=agent, index=index, messages=({"role": "assistant", "content": "x"},),
                completion_ids=tuple(range(tokens)), rewards=dict(rewards or {}), info=info)


def episode(group: str, reward: float | Mapping[str, float] | None = None, *, turns: Sequence[Turn] | None = None,
            outcome: Mapping[str, Mapping[str, float | None]] | None = None, status: Status = Status.OK,
            eid: str | None = None, n_turns: int = 1) -> Episode:
    """One episode of group `group`; a float reward goes to agent "a"."""
    if turns is None:
        turns = [turn(i) for i in range(n_turns)]
    if reward is None:
        rewards: dict[str, float] = {}
    elif isinstance(reward, Mapping):
        rewards = dict(reward)
    else:
        rewards = {"a": float(reward)}
    kwargs = {"id": eid} if eid else {}
    return Episode(task=Task(id=group), env_id="toy/Test-v0", seed=0, turns=tuple(turns), reward=rewards,
                   outcome_rewards=dict(outcome or {}), status=status, group_id=group, **kwargs)


def halve(rewards: list[float]) -> list[float]:
    """A turn transform reachable as ``"algo_records:halve"`` (tests of `turn_transform` module paths)."""
    return [r / 2 for r in rewards]
