"""Adapters from synchronous simulators (Gymnasium, PettingZoo AEC and parallel) to the async contract.

The simulator is adapted, not rewritten: each call runs in a worker thread (`asyncio.to_thread`) so a slow
simulator never blocks the event loop. Two small functions make a simulator speak text:

- ``observe(agent, obs, info) -> str | messages``: what the agent is shown.
- ``parse_action(agent, text) -> action``: the simulator action for a reply; raise `InvalidAction` with a
  helpful message for an illegal reply. The agent is shown that message and asked again, without
  stepping the simulator, up to `max_invalid` times in a row; then the agent is truncated.

The task's prompt messages are shown to every agent before its first observation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from agentrl.env import InvalidAction, StepResult
from agentrl.types import AgentID, Task

Observe = Callable[[AgentID, Any, Mapping[str, Any]], Any]
ParseAction = Callable[[AgentID, str], Any]


def _first_obs(task: Task, shown: Any) -> list:
    shown = [{"role": "user", "content": shown}] if isinstance(shown, str) else list(
        [shown] if isinstance(shown, Mapping) else shown)
    return [*task.prompt, *shown]


def _invalid_message(err: InvalidAction) -> dict:
    return {"role": "user", "content": f"Invalid action: {err}"}


class _InvalidCounter:
    def __init__(self, limit: int):
        self.limit = limit
        self.counts: dict[AgentID, int] = {}

    def hit(self, agent: AgentID) -> bool:
        """Count an invalid reply; True when the agent has used up its retries."""
        self.counts[agent] = self.counts.get(agent, 0) + 1
        return self.counts[agent] >= self.limit

    def clear(self, agent: AgentID) -> None:
        self.counts.pop(agent, None)


class GymnasiumEnv:
    """A single-agent env over any `gymnasium.Env`. `make_env` builds it (a callable or a gymnasium id)."""

    def __init__(self, make_env: Callable[[], Any] | str, observe: Observe, parse_action: ParseAction,
                 agent: AgentID = "agent", max_invalid: int = 3, **make_kwargs: Any):
        import gymnasium

        self.env = gymnasium.make(make_env, **make_kwargs) if isinstance(make_env, str) else make_env()
        self.observe, self.parse_action = observe, parse_action
        self.agent = agent
        self.possible_agents = (agent,)
        self.invalid = _InvalidCounter(max_invalid)

    async def reset(self, task: Task, seed: int) -> dict:
        obs, info = await asyncio.to_thread(self.env.reset, seed=seed, options=task.env_kwargs.get("options"))
        self.invalid = _InvalidCounter(self.invalid.limit)
        return {self.agent: _first_obs(task, self.observe(self.agent, obs, info))}

    async def step(self, actions: Mapping[AgentID, str]) -> StepResult:
        a = self.agent
        try:
            action = self.parse_action(a, actions[a])
        except InvalidAction as err:
            if self.invalid.hit(a):
                return StepResult({}, {a: 0.0}, {a: False}, {a: True}, {a: {"invalid_action": str(err)}})
            return StepResult({a: [_invalid_message(err)]}, {a: 0.0}, {}, {}, {a: {"invalid_action": str(err)}})
        self.invalid.clear(a)
        obs, reward, terminated, truncated, info = await asyncio.to_thread(self.env.step, action)
        done = terminated or truncated
        next_obs = {} if done else {a: self.observe(a, obs, info)}
        return StepResult(next_obs, {a: float(reward)}, {a: bool(terminated)}, {a: bool(truncated)}, {a: dict(info)})

    async def close(self) -> None:
        await asyncio.to_thread(self.env.close)


class PettingZooParallelEnv:
    """A simultaneous-move env over any `pettingzoo.ParallelEnv`."""

    def __init__(self, make_env: Callable[[], Any], observe: Observe, parse_action: ParseAction,
                 max_invalid: int = 3):
        self.env = make_env()
        self.observe, self.parse_action = observe, parse_action
        self.possible_agents = tuple(self.env.possible_agents)
        self.invalid = _InvalidCounter(max_invalid)
        self._task: Task | None = None

    async def reset(self, task: Task, seed: int) -> dict:
        obs, infos = await asyncio.to_thread(self.env.reset, seed=seed, options=task.env_kwargs.get("options"))
        self.invalid = _InvalidCounter(self.invalid.limit)
        return {a: _first_obs(task, self.observe(a, obs[a], infos.get(a, {}))) for a in obs}

    async def step(self, actions: Mapping[AgentID, str]) -> StepResult:
        parsed, errors = {}, {}
        for agent, text in actions.items():
            try:
                parsed[agent] = self.parse_action(agent, text)
                self.invalid.clear(agent)
            except InvalidAction as err:
                errors[agent] = err
        if errors:  # nobody moves until every reply is legal; the others' actions are taken again
            return self._retry(actions, errors)
        obs, rewards, terms, truncs, infos = await asyncio.to_thread(self.env.step, parsed)
        live = {a for a in obs if not (terms.get(a) or truncs.get(a))}
        return StepResult({a: self.observe(a, obs[a], infos.get(a, {})) for a in obs if a in live},
                          {a: float(r) for a, r in rewards.items()}, dict(terms), dict(truncs),
                          {a: dict(i) for a, i in infos.items()})

    def _retry(self, actions: Mapping[AgentID, str], errors: Mapping[AgentID, InvalidAction]) -> StepResult:
        out_of_retries = {a for a in errors if self.invalid.hit(a)}
        if out_of_retries:
            return StepResult({}, {a: 0.0 for a in actions}, {}, {a: True for a in actions},
                              {a: {"invalid_action": str(e)} for a, e in errors.items()})
        obs = {a: ([_invalid_message(errors[a])] if a in errors else
                   "Another agent's reply was invalid; reply again with your action.") for a in actions}
        return StepResult(obs, {a: 0.0 for a in actions}, {}, {},
                          {a: {"invalid_action": str(e)} for a, e in errors.items()})

    async def close(self) -> None:
        await asyncio.to_thread(self.env.close)


class PettingZooAECEnv:
    """A turn-taking env over any `pettingzoo.AECEnv`: only the agent to move is observed.

    Rewards PettingZoo hands to other agents during a move (a loss when the opponent wins) are reported
    for them in the same step. Agents whose game ended are stepped out with ``None`` automatically.
    """

    def __init__(self, make_env: Callable[[], Any], observe: Observe, parse_action: ParseAction,
                 max_invalid: int = 3):
        self.env = make_env()
        self.observe, self.parse_action = observe, parse_action
        self.possible_agents = tuple(self.env.possible_agents)
        self.invalid = _InvalidCounter(max_invalid)
        self._shown: set[AgentID] = set()
        self._task: Task | None = None

    async def reset(self, task: Task, seed: int) -> dict:
        await asyncio.to_thread(self.env.reset, seed=seed, options=task.env_kwargs.get("options"))
        self.invalid = _InvalidCounter(self.invalid.limit)
        self._task, self._shown = task, set()
        return self._observe_next()

    def _observe_next(self) -> dict:
        env = self.env
        if not env.agents:
            return {}
        agent = env.agent_selection
        obs, _, _, _, info = env.last()
        shown = self.observe(agent, obs, info)
        if agent not in self._shown:
            self._shown.add(agent)
            shown = _first_obs(self._task, shown)
        return {agent: shown}

    async def step(self, actions: Mapping[AgentID, str]) -> StepResult:
        (agent, text), = actions.items()
        try:
            action = self.parse_action(agent, text)
        except InvalidAction as err:
            if self.invalid.hit(agent):
                return StepResult({}, {}, {}, {a: True for a in self.env.agents}, {agent: {"invalid_action": str(err)}})
            return StepResult({agent: [_invalid_message(err)]}, {agent: 0.0}, {}, {}, {agent: {"invalid_action": str(err)}})
        self.invalid.clear(agent)
        return await asyncio.to_thread(self._step_sync, agent, action)

    def _step_sync(self, agent: AgentID, action: Any) -> StepResult:
        env = self.env
        env.step(action)
        rewards = {a: float(r) for a, r in env.rewards.items()}
        terms, truncs = dict(env.terminations), dict(env.truncations)
        infos = {a: dict(i) for a, i in env.infos.items()}
        # AEC needs a None step from each agent whose game ended before it leaves `agents`.
        while env.agents and (env.terminations[env.agent_selection] or env.truncations[env.agent_selection]):
            env.step(None)
        obs = self._observe_next()
        return StepResult(obs, rewards, terms, truncs, infos)

    async def close(self) -> None:
        await asyncio.to_thread(self.env.close)
