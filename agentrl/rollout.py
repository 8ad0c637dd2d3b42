"""`run_episode`: the one rollout loop, for single-agent, turn-taking and simultaneous envs.

    bind the policy to an env that runs its own agent program (`env.bind_policy(policy)`, where it has one)
    obs = reset(task, seed)
    while some agent is to act and turns remain:
        show each acting agent its observation
        every acting agent's policy generates a turn (concurrently, each under the turn time limit)
        step the env with the reply texts; attach step rewards and infos to the turns
    score the episode with the rubric (before close, so verifiers can use the env's sandbox)
    close the env

Whatever goes wrong becomes the episode's `status` with the error text; the function returns an `Episode`
in every case but cancellation, so one failing episode never takes its siblings down.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import traceback
from collections.abc import Mapping
from typing import Any

from agentrl.env import ContractGuard
from agentrl.errors import ContextOverflowError
from agentrl.policy_contract import Policy
from agentrl.registry import registered_spec
from agentrl.rubric import ENV_TERM, Rubric
from agentrl.types import AgentID, Episode, Message, Status, Task, Turn

DEFAULT_MAX_TURNS = 32  # for envs not built by agentrl.make (which carry their registered max_turns)
# Turns generated in this process so far: the memory-stall watchdog (agentrl.training.memwatch) reads it as the
# sign that rollouts still make progress. Only grows; timed-out or failed turns do not count.
turns_completed = 0


class _Failure(Exception):
    def __init__(self, status: Status, error: str):
        super().__init__(error)
        self.status = status


def _describe(e: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(e), e)).strip()


async def run_episode(
    env: Any,
    policy: Policy | Mapping[AgentID, Policy],
    task: Task,
    seed: int,
    rubric: Rubric | None = None,
    *,
    env_id: str | None = None,
    max_turns: int | None = None,
    turn_timeout: float | None = None,
    episode_timeout: float | None = None,
    policy_version: int = 0,
    group_id: str = "",
    close: bool = True,
) -> Episode:
    """Play one episode of `env` on `task` and return it, scored by `rubric`.

    `policy` is one policy for every agent or a dict {agent: policy}. `max_turns` bounds env steps
    (reaching it gives status ``truncated``); when not given it is the value registered with the env (for an
    env from `agentrl.make`), else `DEFAULT_MAX_TURNS`; `turn_timeout` bounds each model call and `episode_timeout`
    the whole episode, both in seconds (status ``timeout``). An env with a ``bind_policy(policy)`` method (one
    that runs an agent program, whose requests are the turns: `agentrl.environments.external`) is given `policy`
    before its reset, so every entry point (train, train-ray, eval, check_env) plays it with the same policy.
    """
    env = env if isinstance(env, ContractGuard) else ContractGuard(env, env_id or type(env).__name__)
    if max_turns is None:
        spec = registered_spec(env)
        max_turns = spec.max_turns if spec is not None else DEFAULT_MAX_TURNS
    env_id = env_id or env.env_id
    rubric = rubric or Rubric()
    started = time.monotonic()
    state = _EpisodeState()
    status, error = Status.OK, None
    try:
        try:
            async with asyncio.timeout(episode_timeout):
                status = await _play(env, policy, task, seed, state, max_turns, turn_timeout, policy_version)
        except TimeoutError:
            status, error = Status.TIMEOUT, f"episode exceeded its time limit of {episode_timeout} s"
        except _Failure as f:
            status, error = f.status, str(f)
        episode = Episode(task=task, env_id=env_id, seed=seed, turns=tuple(state.turns), status=status, error=error,
                          policy_version=policy_version, group_id=group_id)
        if not status.is_failure:
            episode = await rubric.score(episode, env)
    finally:
        close_error = await _close(env) if close else None
    metrics = _metrics(episode, time.monotonic() - started)
    info = {**episode.info, "close_error": close_error} if close_error else episode.info
    return episode.replace(metrics=metrics, info=info)


@dataclasses.dataclass
class _EpisodeState:
    turns: list[Turn] = dataclasses.field(default_factory=list)
    last: dict[AgentID, int] = dataclasses.field(default_factory=dict)  # agent -> position in `turns`
    conversations: dict[AgentID, list[Message]] = dataclasses.field(default_factory=dict)


async def _play(env: ContractGuard, policy: Any, task: Task, seed: int, state: _EpisodeState, max_turns: int,
                turn_timeout: float | None, policy_version: int) -> Status:
    try:
        bind = getattr(env, "bind_policy", None)  # an env whose program makes the model calls (ProgramEnv)
        if bind is not None:
            bind(policy)
        obs = await env.reset(task, seed)
    except Exception as e:
        raise _Failure(Status.ENV_ERROR, f"reset failed: {_describe(e)}") from e
    for step in range(max_turns):
        if not obs:
            return Status.OK
        for agent, messages in obs.items():
            state.conversations.setdefault(agent, []).extend(messages)
        try:
            new_turns = await _generate_all(policy, list(obs), state, turn_timeout)
        except ContextOverflowError:
            return Status.TRUNCATED
        try:
            result = await env.step({t.agent: t.text for t in new_turns})
        except Exception as e:
            # keep what was generated: nothing is lost
            state.turns.extend(dataclasses.replace(t, index=step, policy_version=policy_version) for t in new_turns)
            raise _Failure(Status.ENV_ERROR, f"step {step} failed: {_describe(e)}") from e
        _record(state, new_turns, result, step, policy_version)
        obs = result.obs
    return Status.TRUNCATED if obs else Status.OK


async def _generate_all(policy: Any, agents: list[AgentID], state: _EpisodeState,
                        turn_timeout: float | None) -> list[Turn]:
    async def one(agent: AgentID) -> Turn:
        previous = state.turns[state.last[agent]] if agent in state.last else None
        chosen = policy[agent] if isinstance(policy, Mapping) else policy
        return await asyncio.wait_for(chosen.generate(agent, list(state.conversations[agent]), previous),
                                      turn_timeout)

    results = await asyncio.gather(*(one(a) for a in agents), return_exceptions=True)
    for agent, r in zip(agents, results):
        if isinstance(r, ContextOverflowError):
            raise r
        if isinstance(r, TimeoutError):
            raise _Failure(Status.TIMEOUT, f"policy for {agent!r} exceeded the turn time limit of {turn_timeout} s")
        if isinstance(r, BaseException):
            if isinstance(r, asyncio.CancelledError):
                raise r
            raise _Failure(Status.POLICY_ERROR, f"policy for {agent!r} failed: {_describe(r)}") from r
        if not isinstance(r, Turn) or r.agent != agent:
            raise _Failure(Status.POLICY_ERROR, f"policy for {agent!r} returned {r!r}, expected a Turn for that agent")
    global turns_completed
    turns_completed += len(results)
    return list(results)  # type: ignore[arg-type]


def _record(state: _EpisodeState, new_turns: list[Turn], result: Any, step: int, policy_version: int) -> None:
    """Append the turns (numbered `step`) with their env rewards and infos; rewards for agents that did not act
    this step (a turn-taking opponent) go to that agent's previous turn."""
    acted = {t.agent for t in new_turns}
    for turn in new_turns:
        rewards = {**turn.rewards, ENV_TERM: float(result.rewards.get(turn.agent, 0.0))}
        info = {**turn.info, **result.infos.get(turn.agent, {})}
        state.last[turn.agent] = len(state.turns)
        state.turns.append(dataclasses.replace(turn, index=step, policy_version=policy_version, rewards=rewards,
                                               info=info))
        state.conversations[turn.agent].append(turn.messages[-1])
    for agent, r in result.rewards.items():
        if agent in acted or agent not in state.last or not r:
            continue
        pos = state.last[agent]
        old = state.turns[pos]
        state.turns[pos] = dataclasses.replace(old, rewards={**old.rewards, ENV_TERM: (old.rewards.get(ENV_TERM) or 0.0) + r})


async def _close(env: ContractGuard) -> str | None:
    try:
        await env.close()
        return None
    except Exception as e:  # noqa: BLE001
        return _describe(e)


def _metrics(episode: Episode, seconds: float) -> dict[str, float]:
    completion = sum(len(t.completion_ids) for t in episode.turns)
    prompt = sum(len(t.prompt_ids) for t in episode.turns)
    out = {"turns": float(len(episode.turns)), "wall_s": seconds, "completion_tokens": float(completion),
           "prompt_tokens": float(prompt)}
    if any("tool_errors" in t.info for t in episode.turns):  # tool envs: failed calls, however they surfaced
        out["tool_errors"] = float(sum(len(t.info.get("tool_errors") or ()) for t in episode.turns))
    for agent in episode.agents:
        out[f"env_return/{agent}"] = sum((t.rewards.get(ENV_TERM) or 0.0) for t in episode.turns_of(agent))
    return {**episode.metrics, **out}
