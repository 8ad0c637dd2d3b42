"""The environment contract: one small async API for single-agent, turn-taking and simultaneous games.

An environment is any object with::

    possible_agents: Sequence[str]
    async def reset(self, task: Task, seed: int) -> dict[agent, Observation]
    async def step(self, actions: dict[agent, str]) -> StepResult
    async def close(self) -> None

It follows PettingZoo's parallel API. The observation dict names the agents that act next: one agent in a
single-agent env or on a turn-taking board, every live agent in a simultaneous game. An observation is what
the agent is shown: a string (a user message), one message dict, or a list of them; it is appended to that
agent's conversation. An action is the agent's reply text. `StepResult` carries the five PettingZoo dicts;
`rewards` may name agents that did not act this step (a turn-taking loser), and the episode is over when no
agent is left to act.

Environments describe dynamics only. Judgement lives in `agentrl.verifiers`; credit assignment lives in the
learner. Put the env's own step reward in `rewards` (it becomes the turn term ``env``) and anything a verifier
needs in `infos`.

`make()` wraps every env in `ContractGuard`, which checks the calls in both directions and turns misuse into
clear errors, so env authors write only the dynamics.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeAlias, runtime_checkable

from agentrl.errors import ActionError, CheckError, EpisodeOverError, TaskError
from agentrl.types import AgentID, Message, Task, as_messages

Observation: TypeAlias = "str | Message | Sequence[Message]"


class InvalidAction(Exception):
    """Raised by an action parser when the agent's reply is not a legal action.

    Adapters catch it and show the message to the agent instead of stepping the simulator.
    """


@dataclasses.dataclass(frozen=True)
class StepResult:
    """What `step` returns: PettingZoo's five per-agent dicts."""

    obs: Mapping[AgentID, Any]
    rewards: Mapping[AgentID, float] = dataclasses.field(default_factory=dict)
    terminated: Mapping[AgentID, bool] = dataclasses.field(default_factory=dict)
    truncated: Mapping[AgentID, bool] = dataclasses.field(default_factory=dict)
    infos: Mapping[AgentID, Mapping[str, Any]] = dataclasses.field(default_factory=dict)

    def done(self, agent: AgentID) -> bool:
        return bool(self.terminated.get(agent) or self.truncated.get(agent))


@runtime_checkable
class Environment(Protocol):
    possible_agents: Sequence[AgentID]

    async def reset(self, task: Task, seed: int) -> Mapping[AgentID, Any]: ...

    async def step(self, actions: Mapping[AgentID, str]) -> StepResult: ...

    async def close(self) -> None: ...


class ContractGuard:
    """Wraps an env; validates every call and normalises observations to tuples of message dicts.

    Misuse by the caller (wrong action keys, stepping a finished episode) raises `ActionError` or
    `EpisodeOverError`. A broken env (observing an unknown or dead agent, a non-dict result) raises
    `CheckError`. `close` becomes idempotent. Attributes not defined here are forwarded to the env.
    """

    def __init__(self, env: Any, env_id: str = "env"):
        for name in ("reset", "step", "close", "possible_agents"):
            if not hasattr(env, name):
                raise CheckError(
                    f"{env_id}: {type(env).__name__} has no `{name}`. An environment needs possible_agents, "
                    "async reset(task, seed), async step(actions) and async close(); see agentrl.env."
                )
        self.env = env
        self.env_id = env_id
        self.possible_agents: tuple[AgentID, ...] = tuple(env.possible_agents)
        self._to_act: tuple[AgentID, ...] = ()
        self._dead: set[AgentID] = set()
        self._started = False
        self._closed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.env, name)

    @property
    def agents_to_act(self) -> tuple[AgentID, ...]:
        return self._to_act

    @property
    def episode_over(self) -> bool:
        return self._started and not self._to_act

    async def reset(self, task: Task, seed: int) -> dict[AgentID, tuple[Message, ...]]:
        if self._closed:
            raise EpisodeOverError(f"{self.env_id}: reset() after close(); make a new env with agentrl.make().")
        if not isinstance(task, Task):
            raise TaskError(f"{self.env_id}: reset() needs an agentrl.Task, got {type(task).__name__}. "
                            "Build one with Task(id=..., prompt=..., reference=...).")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TaskError(f"{self.env_id}: seed must be an int, got {seed!r}.")
        obs = await self.env.reset(task, seed)
        self._dead = set()
        self._started = True
        return self._accept_obs(obs, "reset")

    async def step(self, actions: Mapping[AgentID, str]) -> StepResult:
        if not self._started:
            raise EpisodeOverError(f"{self.env_id}: step() before reset(); call reset(task, seed) first.")
        if not self._to_act:
            raise EpisodeOverError(
                f"{self.env_id}: step() after the episode ended (every agent terminated or truncated). "
                "Call reset(task, seed) to start a new episode."
            )
        self._check_actions(actions)
        result = await self.env.step(dict(actions))
        if not isinstance(result, StepResult):
            raise CheckError(f"{self.env_id}: step() must return agentrl.env.StepResult, got {type(result).__name__}.")
        for agent in self.possible_agents:
            if result.done(agent):
                self._dead.add(agent)
        obs = self._accept_obs(result.obs, "step")
        return dataclasses.replace(result, obs=obs)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._to_act = ()
        await self.env.close()

    def _check_actions(self, actions: Mapping[AgentID, str]) -> None:
        if not isinstance(actions, Mapping):
            raise ActionError(f"{self.env_id}: step() takes a dict {{agent: reply text}}, got {type(actions).__name__}.")
        expected, given = set(self._to_act), set(actions)
        if expected != given:
            raise ActionError(
                f"{self.env_id}: step() got actions for {sorted(given)} but the agents to act are {sorted(expected)}. "
                "Pass exactly one action per agent in the last observation dict."
            )
        for agent, action in actions.items():
            if not isinstance(action, str):
                raise ActionError(f"{self.env_id}: action for {agent!r} must be the reply text (str), "
                                  f"got {type(action).__name__}.")

    def _accept_obs(self, obs: Any, where: str) -> dict[AgentID, tuple[Message, ...]]:
        if not isinstance(obs, Mapping):
            raise CheckError(f"{self.env_id}: {where}() must return a dict of observations per agent, "
                             f"got {type(obs).__name__}.")
        unknown = set(obs) - set(self.possible_agents)
        if unknown:
            raise CheckError(f"{self.env_id}: {where}() observed {sorted(unknown)}, which are not in "
                             f"possible_agents {list(self.possible_agents)}.")
        zombies = set(obs) & self._dead
        if zombies:
            raise CheckError(f"{self.env_id}: {where}() observed {sorted(zombies)} after they terminated or "
                             "truncated; dead agents must stay out of later observations.")
        self._to_act = tuple(a for a in self.possible_agents if a in obs)
        return {a: as_messages(obs[a], f"{self.env_id} observation for {a!r}") for a in self._to_act}
