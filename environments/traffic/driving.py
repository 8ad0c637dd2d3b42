"""Multi-agent driving on highway-env: a PettingZoo parallel env and, over it, an env of our contract.

`DrivingParallelEnv` (PettingZoo ``ParallelEnv``) drives highway-env's simulator with one agent per controlled
vehicle (``agent_0`` ... ``agent_{N-1}``, in highway-env's `controlled_vehicles` order):

- observation: highway-env's kinematics array for that vehicle (its own observation space);
- action: the index of a meta-action in `action_names(agent)` (LANE_LEFT, IDLE, LANE_RIGHT, FASTER, SLOWER;
  the intersection has SLOWER, IDLE, FASTER);
- reward: highway-env's reward for that vehicle (its per-agent reward where highway-env has one, else its
  ego reward computed with that vehicle as the ego);
- terminated: the vehicle crashed, arrived (route progress reached 1) or, with ``offroad_terminal``, left the
  road; truncated: highway-env's time limit. Finished agents leave `agents`; their vehicles keep the IDLE
  meta-action (a crashed vehicle stands still, as highway-env makes it).
- infos: JSON-ready state of the vehicle (position, speed, lane, crashed, on_road, arrived, route_progress,
  nearby vehicles with lane, gap and relative speed, the raw kinematics), at full float precision, from
  reset on (`reset_infos`); text observations round (`driving_text`) and verifiers read them.

Config: the scenario's keys, then `base_config` (what a registration sets), then `config` (what the caller
sets), merged key by key. A task's ``reset(options={"config": ...})`` applies to that episode only: every
reset starts from the env's own config. ``reference="highway-fast-v0"`` (or another id of
`scenarios.REFERENCE_IDS`) runs highway-env's own env with its own defaults instead; see docs/traffic.md.

Background traffic draws aggressive, normal and defensive drivers (`drivers.py`); ``traffic`` picks the mix.

`DrivingEnv` adapts the parallel env to agentrl's contract with `PettingZooParallelEnv`: observations are
text (`describe`, or the one-line `brief` with ``observation="brief"``), replies name a meta-action or give
its number (the observation lists "0 LANE_LEFT, 1 IDLE, ..."; a name anywhere in the reply wins over a number
at its start), and with ``messages=True`` a reply may carry one line ``SAY: <text>`` that the other agents
read in their next observation. An unparseable reply is re-asked (``invalid_action="retry"``, the default:
nobody moves until every reply is legal) or, with ``invalid_action="idle"``, drives IDLE for that agent alone
and is flagged ``invalid_reply: True`` in its turn's info, so one agent's nonsense never stalls the others.
"""

from __future__ import annotations

import copy
import functools
import math
import os
import re
from collections.abc import Mapping
from typing import Any, ClassVar

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # highway-env imports pygame; no display is needed

import gymnasium
import numpy as np
from gymnasium import spaces
from highway_env.envs.common.action import MultiAgentAction
from pettingzoo import ParallelEnv

from agentrl.adapters import PettingZooParallelEnv
from agentrl.env import InvalidAction, StepResult
from agentrl.environments.traffic.driving_text import OBSERVATIONS, brief, describe, numbered
from agentrl.environments.traffic.scenarios import (
    SCENARIOS,
    MultiAgentMergeEnv,
    Progress,
    Scenario,
    reference_config,
)
from agentrl.policy_contract import ScriptedPolicy
from agentrl.types import AgentID, Task

NEARBY_RADIUS = 60.0  # [m] vehicles farther away are not described
MAX_NEARBY = 6
MAX_MESSAGE_CHARS = 200
INVALID_ACTION_MODES = ("retry", "idle")
__all__ = ["DrivingEnv", "DrivingParallelEnv", "brief", "describe", "numbered"]


def agent_name(i: int) -> str:
    return f"agent_{i}"


class DrivingParallelEnv(ParallelEnv):
    """N controlled vehicles of a highway-env scenario as a PettingZoo parallel env; see the module docstring.

    `config` overrides highway-env config keys (for example ``{"duration": 10, "vehicles_count": 10}``) over
    `base_config`; ``reset(options={"config": {...}})`` overrides them for that one episode. `traffic` (None:
    "mild", or highway-env's own in reference mode) and `observation` belong to the project's config and are
    refused with `reference`.
    """

    metadata: ClassVar[dict] = {"name": "agentrl_driving_v0", "render_modes": ["rgb_array"], "is_parallelizable": True}

    def __init__(self, scenario: str = "highway", n_agents: int = 2, traffic: str | None = None,
                 config: Mapping[str, Any] | None = None, observation: Mapping[str, Any] | None = None,
                 route_length: float | None = None, render_mode: str | None = None,
                 base_config: Mapping[str, Any] | None = None, reference: str | None = None):
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown driving scenario {scenario!r}; choose one of {sorted(SCENARIOS)}.")
        self.scenario: Scenario = SCENARIOS[scenario]
        self.reference = reference
        self.route_length = float(route_length if route_length is not None else self.scenario.route_length)
        overrides = {**(base_config or {}), **(config or {})}
        if reference is None:
            self.config = self.scenario.build_config(n_agents, traffic or "mild", observation, overrides)
            self.sim = self.scenario.env_class(config=self.config, render_mode=render_mode)
        else:
            if traffic is not None or observation is not None:
                raise ValueError(f"reference={reference!r} runs highway-env's own traffic and observation; leave "
                                 "traffic and observation unset (config={...} overrides highway-env keys).")
            self.config = reference_config(scenario, reference, n_agents, overrides)
            self.sim = gymnasium.make(reference, config=self.config, render_mode=render_mode).unwrapped
        # Every reset starts from this: highway-env's `configure` keeps a task's options for later episodes.
        self._sim_config = copy.deepcopy(self.sim.config)
        self._multi = isinstance(self.sim.action_type, MultiAgentAction)
        self.render_mode = render_mode
        self.reset_infos: dict[AgentID, dict[str, Any]] = {}
        self.possible_agents = [agent_name(i) for i in range(n_agents)]
        self.agents: list[AgentID] = []
        self._start: dict[AgentID, float] = {}
        self._done: set[AgentID] = set()
        self._last_actions: dict[AgentID, int] = {}
        self.sim.reset(seed=0)  # highway-env defines its spaces once vehicles exist
        self._obs_spaces = {a: self.sim.observation_space[i] if self._multi else self.sim.observation_space
                            for i, a in enumerate(self.possible_agents)}
        self._act_spaces = {a: spaces.Discrete(len(self.action_names(a))) for a in self.possible_agents}

    # --- PettingZoo API -------------------------------------------------------------------------------------
    def observation_space(self, agent: AgentID) -> spaces.Space:
        return self._obs_spaces[agent]

    def action_space(self, agent: AgentID) -> spaces.Space:
        return self._act_spaces[agent]

    def reset(self, seed: int | None = None, options: Mapping[str, Any] | None = None):
        self.sim.config = copy.deepcopy(self._sim_config)
        raw, _ = self.sim.reset(seed=seed, options=copy.deepcopy(dict(options)) if options else None)
        raw = raw if self._multi else (raw,)
        self.agents = list(self.possible_agents)
        self._done = set()
        self._last_actions = {}
        self._start = {}
        for agent, vehicle in zip(self.possible_agents, self.sim.controlled_vehicles):
            vehicle.initial_route = list(getattr(vehicle, "route", None) or [])
            self._start[agent] = self._progress(vehicle).s
        obs = {a: raw[i] for i, a in enumerate(self.possible_agents)}
        self.reset_infos = {a: self.agent_info(a, raw[i]) for i, a in enumerate(self.possible_agents)}
        return obs, copy.deepcopy(self.reset_infos)

    def step(self, actions: Mapping[AgentID, Any]):
        self._check_actions(actions)
        idle = {a: self.action_names(a).index("IDLE") for a in self.possible_agents}
        joint = tuple(int(actions.get(a, idle[a])) if a in self.agents else idle[a] for a in self.possible_agents)
        self._last_actions = dict(zip(self.possible_agents, joint))
        raw, _, _, sim_truncated, sim_info = self.sim.step(joint if self._multi else joint[0])
        raw = raw if self._multi else (raw,)
        acting = list(self.agents)
        rewards = {a: self._agent_reward(i, joint[i], sim_info) for i, a in enumerate(self.possible_agents)
                   if a in acting}
        terms = {a: self._agent_terminal(self.possible_agents.index(a)) for a in acting}
        truncs = {a: bool(sim_truncated) and not terms[a] for a in acting}
        infos = {a: self.agent_info(a, raw[self.possible_agents.index(a)]) for a in acting}
        obs = {a: raw[self.possible_agents.index(a)] for a in acting}
        self._done |= {a for a in acting if terms[a] or truncs[a]}
        self.agents = [a for a in acting if a not in self._done]
        return obs, rewards, terms, truncs, infos

    def render(self):
        return self.sim.render()

    def close(self) -> None:
        self.sim.close()

    # --- what each agent can do and sees ---------------------------------------------------------------------
    @functools.cache  # noqa: B019 - one env per episode; the cache dies with it
    def action_names(self, agent: AgentID) -> tuple[str, ...]:
        action_type = self._action_type(agent)
        return tuple(action_type.actions[i] for i in sorted(action_type.actions))

    def _action_type(self, agent: AgentID) -> Any:
        if not self._multi:
            return self.sim.action_type
        return self.sim.action_type.agents_action_types[self.possible_agents.index(agent)]

    def available_actions(self, agent: AgentID) -> list[str]:
        action_type = self._action_type(agent)
        names = action_type.actions
        return [names[i] for i in sorted(set(action_type.get_available_actions()))]

    def vehicle(self, agent: AgentID) -> Any:
        return self.sim.controlled_vehicles[self.possible_agents.index(agent)]

    def agent_info(self, agent: AgentID, raw: np.ndarray) -> dict[str, Any]:
        """The JSON-ready state of one agent's vehicle; `describe` turns it into text."""
        v = self.vehicle(agent)
        progress = self._progress(v)
        fraction = progress.fraction(self._start.get(agent, progress.s))
        last = self._last_actions.get(agent)
        return {
            "scenario": self.scenario.name,
            "reference": self.reference,
            "time": float(self.sim.time),
            "road": f"{v.lane_index[0]}->{v.lane_index[1]}" if v.lane_index else None,
            "lane": int(v.lane_index[2]) if v.lane_index else None,
            "lanes": len(self.sim.road.network.all_side_lanes(v.lane_index)) if v.lane_index else 0,
            "position": [float(v.position[0]), float(v.position[1])],
            "heading": float(v.heading),
            "speed": float(v.speed),
            "target_speed": float(getattr(v, "target_speed", v.speed)),
            "crashed": bool(v.crashed),
            "on_road": bool(v.on_road),
            "arrived": bool(self._arrived(self.possible_agents.index(agent), progress)),
            "route_progress": float(fraction),
            "last_action": None if last is None else self.action_names(agent)[last],
            "available_actions": self.available_actions(agent),
            "nearby": self._nearby(v),
            "kinematics": np.asarray(raw, dtype=np.float64).tolist(),
        }

    def _nearby(self, ego: Any) -> list[dict[str, Any]]:
        # Distances to every vehicle in one numpy pass; only the MAX_NEARBY closest are described (lane
        # coordinates are a Python call per vehicle in highway-env, the wrapper's largest per-step cost).
        vehicles = self.sim.road.vehicles
        offsets = np.array([v.position for v in vehicles], dtype=np.float64) - ego.position
        distances = np.sqrt(offsets[:, 0] * offsets[:, 0] + offsets[:, 1] * offsets[:, 1])
        names = {id(v): a for a, v in zip(self.possible_agents, self.sim.controlled_vehicles)}
        candidates = [(float(distances[i]), names.get(id(vehicles[i]), "car"), vehicles[i])
                      for i in np.flatnonzero(distances <= NEARBY_RADIUS) if vehicles[i] is not ego]
        candidates.sort(key=lambda c: (c[0], c[1]))  # stable: ties keep the road's vehicle order
        lane = ego.lane
        s_ego, _ = lane.local_coordinates(ego.position) if lane else (0.0, 0.0)
        direction = np.array([math.cos(ego.heading), math.sin(ego.heading)])
        return [self._neighbour(ego, lane, s_ego, direction, other, distance, who)
                for distance, who, other in candidates[:MAX_NEARBY]]

    @staticmethod
    def _neighbour(ego: Any, lane: Any, s_ego: float, direction: np.ndarray, other: Any, distance: float,
                   who: str) -> dict[str, Any]:
        same_road = bool(other.lane_index and ego.lane_index and other.lane_index[:2] == ego.lane_index[:2])
        s_other, lateral = lane.local_coordinates(other.position) if lane else (0.0, 0.0)
        along = float(s_other - s_ego)
        gap = max(abs(along) - (ego.LENGTH + other.LENGTH) / 2, 0.0)
        return {
            "id": who,
            "lane": int(other.lane_index[2]) if same_road else None,
            "road": f"{other.lane_index[0]}->{other.lane_index[1]}" if other.lane_index else None,
            "ahead": along >= 0,
            "gap": float(gap), "lateral": float(lateral), "distance": distance,
            "relative_speed": float(np.dot(other.velocity, direction)) - float(ego.speed),
            "crashed": bool(other.crashed),
        }

    # --- judging one vehicle as highway-env does -------------------------------------------------------------
    def _progress(self, vehicle: Any) -> Progress:
        return self.scenario.progress(self.sim, vehicle, self._start.get(self._agent_of(vehicle), 0.0),
                                      self.route_length)

    def _agent_of(self, vehicle: Any) -> AgentID | None:
        for a, v in zip(self.possible_agents, self.sim.controlled_vehicles):
            if v is vehicle:
                return a
        return None

    def _agent_reward(self, i: int, action: int, sim_info: Mapping[str, Any]) -> float:
        if "agents_rewards" in sim_info:  # highway-env's own per-agent reward
            return float(sim_info["agents_rewards"][i])
        sim, vehicle = self.sim, self.sim.controlled_vehicles[i]
        saved = sim.controlled_vehicles
        sim.controlled_vehicles = [vehicle] + [v for v in saved if v is not vehicle]  # make it the ego
        try:
            return float(sim._reward(action))
        finally:
            sim.controlled_vehicles = saved

    def _arrived(self, i: int, progress: Progress) -> bool:
        vehicle = self.sim.controlled_vehicles[i]
        if hasattr(self.sim, "has_arrived"):  # the intersection: highway-env's own rule, 25 m into the exit
            return bool(self.sim.has_arrived(vehicle))
        if self.reference is not None:  # highway-env's highway has no arrival; its merge ends past the ramp
            return (self.scenario.name == "merge" and not vehicle.crashed
                    and bool(vehicle.position[0] > MultiAgentMergeEnv.END_OF_RAMP_X))
        return progress.reached and not vehicle.crashed

    def _agent_terminal(self, i: int) -> bool:
        vehicle = self.sim.controlled_vehicles[i]
        if hasattr(self.sim, "_agent_is_terminal"):
            ended = self.sim._agent_is_terminal(vehicle)
        else:
            ended = vehicle.crashed or self._arrived(i, self._progress(vehicle))
        offroad = self.sim.config.get("offroad_terminal") and not vehicle.on_road
        return bool(ended or offroad)

    def _check_actions(self, actions: Mapping[AgentID, Any]) -> None:
        unknown = set(actions) - set(self.possible_agents)
        if unknown:
            raise ValueError(f"actions for unknown agents {sorted(unknown)}; agents are {self.possible_agents}.")
        for agent, action in actions.items():
            if agent in self.agents and not self.action_space(agent).contains(np.int64(action)):
                raise ValueError(f"action {action!r} for {agent} is not in 0..{self.action_space(agent).n - 1} "
                                 f"({', '.join(self.action_names(agent))}).")


_SAY = re.compile(r"^\s*SAY:\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_NUMBER = re.compile(r"^\s*(\d+)(?!\d)")


class DrivingEnv(PettingZooParallelEnv):
    """The driving scenarios through agentrl's contract: text in, meta-action names (or numbers) out.

    Keyword arguments go to `DrivingParallelEnv`; `messages` turns on the message channel; `observation` picks
    the text (``"full"``: `describe`, ``"brief"``: `brief`); `invalid_action` what an unparseable reply does
    (``"retry"``: re-ask, stopping the episode after `max_invalid` in a row; ``"idle"``: that agent drives
    IDLE this step and its info says ``invalid_reply: True``). `base_config`, `config` and `reference` are
    `DrivingParallelEnv`'s; `reset_infos` holds the last reset's full-precision infos per agent (the
    contract's reset returns observations only).
    """

    def __init__(self, scenario: str = "highway", n_agents: int = 2, traffic: str | None = None,
                 config: Mapping[str, Any] | None = None, route_length: float | None = None,
                 messages: bool = False, max_invalid: int = 3, observation: str = "full",
                 invalid_action: str = "retry", base_config: Mapping[str, Any] | None = None,
                 reference: str | None = None):
        if observation not in OBSERVATIONS:
            raise ValueError(f"observation={observation!r}; choose one of {sorted(OBSERVATIONS)}.")
        if invalid_action not in INVALID_ACTION_MODES:
            raise ValueError(f"invalid_action={invalid_action!r}; choose one of {list(INVALID_ACTION_MODES)}.")
        self.messages = messages
        self.text = OBSERVATIONS[observation]
        self.invalid_action = invalid_action
        self._outbox: dict[AgentID, str] = {}
        self._invalid_now: set[AgentID] = set()
        super().__init__(lambda: DrivingParallelEnv(scenario, n_agents, traffic, config, route_length=route_length,
                                                    base_config=base_config, reference=reference),
                         observe=self._observe, parse_action=self._parse_or_idle, max_invalid=max_invalid)

    def _observe(self, agent: AgentID, obs: Any, info: Mapping[str, Any]) -> str:
        inbox = {s: t for s, t in self._outbox.items() if s != agent}
        return self.text(agent, info, inbox if self.messages else None, self.env.action_names(agent))

    def _parse(self, agent: AgentID, text: str) -> int:
        names = self.env.action_names(agent)
        said = _SAY.search(text) if self.messages else None
        body = _SAY.sub("", text) if said else text
        found = re.findall(r"\b(LANE[ _-]?LEFT|LANE[ _-]?RIGHT|IDLE|FASTER|SLOWER)\b", body.upper())
        number = _NUMBER.match(body)
        chosen = {re.sub(r"[ \-_]", "", f) for f in found}
        if len(chosen) > 1:  # naming every action and letting the parser pick is not a choice
            raise InvalidAction(f"name exactly one action; the reply names {len(chosen)}: {', '.join(sorted(chosen))}.")
        if found:
            choice = re.sub(r"[ \-]", "_", found[-1]).replace("LANELEFT", "LANE_LEFT").replace("LANERIGHT", "LANE_RIGHT")
            if choice not in names:
                raise InvalidAction(f"{choice} is not an action here; choose one of {numbered(names, names)}.")
            index = names.index(choice)
        elif number:
            index = int(number.group(1))
            if index >= len(names):
                raise InvalidAction(f"there is no action {index}; choose one of {numbered(names, names)}.")
        else:
            raise InvalidAction(f"name one action or give its number: {numbered(names, names)}.")
        if said:
            self._outbox[agent] = said.group(1).strip()[:MAX_MESSAGE_CHARS]
        return index

    def _parse_or_idle(self, agent: AgentID, text: str) -> int:
        try:
            return self._parse(agent, text)
        except InvalidAction:
            if self.invalid_action == "retry":
                raise
            self._invalid_now.add(agent)
            return self.env.action_names(agent).index("IDLE")

    @property
    def reset_infos(self) -> dict[AgentID, dict[str, Any]]:
        return self.env.reset_infos

    async def reset(self, task: Task, seed: int) -> dict:
        self._outbox = {}
        return await super().reset(task, seed)

    async def step(self, actions: Mapping[AgentID, str]) -> StepResult:
        # Every reply is parsed (filling the outbox) before the simulator steps and observations are written,
        # so this step's messages reach the others in their next observation.
        self._outbox, self._invalid_now = {}, set()
        result = await super().step(actions)
        if self.invalid_action == "idle":
            for agent, info in result.infos.items():
                info["invalid_reply"] = agent in self._invalid_now
        return result


# --- tasks, rubric, scripted policy (what the registry needs) -----------------------------------------------
_PROMPT = ("You drive one vehicle in a multi-agent {scenario} scenario; other vehicles are driven by other agents "
           "or by background drivers of mixed styles (aggressive, normal, defensive). Reach the end of your route "
           "without crashing and without leaving the road; faster is better. Each turn you see your lane, speed, "
           "route progress and the nearby vehicles. Reply with one meta-action name: {actions}.")
_ACTIONS = {"intersection": "SLOWER, IDLE or FASTER"}
_DENSITY = {"highway": "vehicles_density", "merge": None, "intersection": "spawn_probability"}


def driving_tasks(scenario: str, split: str = "train", prompt: bool = True, name: str | None = None) -> list:
    """Tasks for one scenario: iPLAN's mild and chaotic traffic at two densities, 4 each per split.

    A task sets the traffic level (and density) through ``reset(options={"config": ...})``; the seed varies
    the initial scene. Test tasks use other densities than train tasks. ``prompt=False`` leaves out the
    instructions (a tiny model cannot read them; it learns from the observations alone); `name` prefixes ids.
    """
    if split not in ("train", "test"):
        raise ValueError(f"driving tasks have splits 'train' and 'test', got {split!r}.")
    from agentrl.environments.traffic.drivers import TRAFFIC_LEVELS

    densities = {"train": (1.0, 1.25), "test": (0.8, 1.5)}[split]
    text = _PROMPT.format(scenario=scenario, actions=_ACTIONS.get(scenario, "LANE_LEFT, IDLE, LANE_RIGHT, "
                                                                             "FASTER or SLOWER"))
    out = []
    for traffic in ("mild", "chaotic"):
        for density in densities:
            config = {"other_vehicles_type": TRAFFIC_LEVELS[traffic]}
            key = _DENSITY[scenario]
            if key == "spawn_probability":
                config[key] = round(0.5 * density, 3)
            elif key:
                config[key] = density
            out.append(Task(id=f"{name or scenario}-{traffic}-d{density}-{split}", split=split,
                            prompt=({"role": "system", "content": text},) if prompt else (),
                            reference={"scenario": scenario, "traffic": traffic, "density": density},
                            env_kwargs={"options": {"config": config}}))
    return out


def highway_tasks(split: str = "train") -> list:
    return driving_tasks("highway", split)


def merge_tasks(split: str = "train") -> list:
    return driving_tasks("merge", split)


def intersection_tasks(split: str = "train") -> list:
    return driving_tasks("intersection", split)


def merge_roles_tasks(split: str = "train") -> list:
    """Merge tasks without instructions (traffic/MergeRoles-v0: tiny models learn from the observations)."""
    return driving_tasks("merge", split, prompt=False, name="merge-roles")


def reference_tasks(split: str = "train") -> list:
    """Tasks for the reference modes: four per split, none setting any config (the seed varies the scene)."""
    if split not in ("train", "test"):
        raise ValueError(f"driving tasks have splits 'train' and 'test', got {split!r}.")
    return [Task(id=f"reference-{split}-{i}", split=split) for i in range(4)]


def rubric():
    """CaRL's reward: route completion, zeroed by a crash, scaled down per off-road step; metrics logged."""
    from agentrl.verifiers.driving import carl_rubric

    return carl_rubric()


_GAP = re.compile(r"(?:Gap ahead in your lane:|\bgap) (clear|([\d.]+) m(?:, closing at (-?[\d.]+) m/s)?)")
_SPEED = re.compile(r"(?:Speed:|\bspeed) ([\d.]+)")
_AVAILABLE = re.compile(r"Available actions: ([A-Z_0-9, ]+)\.")


def cautious_driver(agent: AgentID, messages, rng) -> str:
    """A rule-based driver reading the text observation (full or brief): brake when closing in, else speed up
    to 25 m/s."""
    text = next((m["content"] for m in reversed(messages) if m.get("role") == "user"
                 and "Available actions" in (m.get("content") or "")), "")
    available = _AVAILABLE.search(text)
    options = [a.strip().split()[-1] for a in available.group(1).split(",")] if available else ["IDLE"]
    gap = _GAP.search(text)
    speed = float(_SPEED.search(text).group(1)) if _SPEED.search(text) else 0.0
    if rng.random() < 0.1:  # some variety, from the seeded generator
        return rng.choice(options)
    if gap and gap.group(2) is not None:
        distance, closing = float(gap.group(2)), float(gap.group(3) or 0.0)
        if distance < 15 or (closing > 0 and distance / closing < 3):
            return "SLOWER" if "SLOWER" in options else "IDLE"
    return "FASTER" if speed < 24 and "FASTER" in options else "IDLE"


def scripted_policy(seed: int = 0) -> ScriptedPolicy:
    return ScriptedPolicy(cautious_driver, seed=seed)
