"""Live re-verification: replay a saved episode's replies through a fresh env, then score it next to that env.

Re-scoring from the saved records trusts what the env wrote into each turn's info at the time (for SWE, the
grade of the submitted patch). Live re-verification trusts nothing saved but the agent's replies:

    env = registry.make(env id)                   a fresh instance: a fresh sandbox where the env uses one
    run_episode(env, ReplayPolicy(saved), task, seed)
        each turn: the saved reply, sent to the env again (no model, nothing generated)
        the env recomputes its step rewards and infos (SWE: the patch is collected from the replayed repo and
        graded in another fresh sandbox by the env's own grader)
    score with the rubric while the env (and its sandbox) is still open, then close it

What is kept from the saved episode: the replies and their token fields, the generation metrics (tokens, wall
time) and every turn-info key the env did not produce again (the policy's own, such as ``usage``). What is
recomputed: the env's step rewards (term ``env``), the env's turn infos, every rubric term.

Divergence: the observations the env shows during the replay are compared with the saved ones. Where they
differ (an env whose dynamics are not a function of task, seed and replies), the replies answer a different
situation; the episode is still re-verified, and ``info["rescore"]["live"]["diverged_at"]`` names the first
turn that differed. An env asking for more turns than were saved cannot be replayed: that episode becomes
``env_error`` with the reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from agentrl import registry
from agentrl.errors import AgentRLError
from agentrl.policy_contract import new_messages
from agentrl.rollout import run_episode
from agentrl.rubric import ENV_TERM, Rubric
from agentrl.types import AgentID, Episode, Message, Status, Turn, as_messages


class ReplayError(AgentRLError):
    """The env asked for a turn the saved episode does not have."""


class ReplayPolicy:
    """Hands back an episode's saved turns, agent by agent, in order; notes the first diverging observation."""

    def __init__(self, episode: Episode):
        self._left = {a: list(episode.turns_of(a)) for a in episode.agents}
        self.diverged_at: str | None = None

    async def generate(self, agent: AgentID, messages: Sequence[Message], previous: Turn | None = None) -> Turn:
        queue = self._left.get(agent) or []
        if not queue:
            raise ReplayError(f"the env asked {agent!r} for a turn the saved episode does not have; its replay "
                              "diverged from the original run (the env is not deterministic given the replies).")
        saved = queue.pop(0)
        shown = as_messages(list(new_messages(messages, previous)), "observation")
        if self.diverged_at is None and list(shown) != list(saved.messages[:-1]):
            self.diverged_at = f"{agent} turn {saved.index}"
        # step rewards and infos come from the env again; the rubric's terms are recomputed afterwards
        return dataclasses.replace(saved, rewards={}, info={})


async def reverify_episode(episode: Episode, rubric: Rubric, *, max_turns: int, env_kwargs: dict | None = None
                           ) -> Episode:
    """`episode` replayed through a fresh env of its env id and scored by `rubric` next to that env."""
    env = registry.make(episode.env_id, **(env_kwargs or {}))
    replay = ReplayPolicy(episode)
    fresh = await run_episode(env, replay, episode.task, episode.seed, Rubric(), env_id=episode.env_id,
                              max_turns=max_turns, close=False, group_id=episode.group_id,
                              policy_version=episode.policy_version)
    try:
        if fresh.status.is_failure:
            return _failed_replay(episode, fresh, replay)
        merged = _merge(episode, fresh)
        live = {"replayed_turns": len(fresh.turns), "diverged_at": replay.diverged_at}
        merged = merged.replace(info={**merged.info, "rescore": {**merged.info.get("rescore", {}), "live": live}})
        return await rubric.score(merged, env)
    finally:
        await _close(env)


def _merge(saved: Episode, fresh: Episode) -> Episode:
    """Saved replies and generation metrics; the env's step rewards and infos from the replay."""
    env_keys = {k for t in fresh.turns for k in t.info}
    turns = []
    for old, new in zip(saved.turns, fresh.turns):
        kept = {k: v for k, v in old.info.items() if k not in env_keys}
        turns.append(dataclasses.replace(old, rewards={ENV_TERM: new.rewards.get(ENV_TERM)}, info={**kept, **new.info}))
    info = {k: v for k, v in saved.info.items() if k not in ("reward_errors", "reward_evidence")}
    returns = {k: v for k, v in fresh.metrics.items() if k.startswith("env_return/")}
    return saved.replace(turns=tuple(turns), status=fresh.status, error=fresh.error, outcome_rewards={}, reward={},
                         info=info, metrics={**saved.metrics, **returns})


def _failed_replay(saved: Episode, fresh: Episode, replay: ReplayPolicy) -> Episode:
    live = {"replayed_turns": len(fresh.turns), "diverged_at": replay.diverged_at, "error": fresh.error}
    status = Status.TIMEOUT if fresh.status == Status.TIMEOUT else Status.ENV_ERROR
    return saved.replace(status=status, error=f"live re-verification failed: {fresh.error}", outcome_rewards={},
                         reward={}, info={**saved.info, "rescore": {**saved.info.get("rescore", {}), "live": live}})


async def _close(env: Any) -> None:
    try:
        await env.close()
    except Exception:  # a failing close is the env's to report; the re-verified episode stands  # noqa: BLE001, S110
        pass
