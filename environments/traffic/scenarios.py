"""highway-env scenarios with N controlled vehicles: what each one builds and what "arriving" means in it.

A `Scenario` names a highway-env environment class, the config that makes it multi-agent (one
`MultiAgentAction` of meta-actions and one `MultiAgentObservation` of kinematics per controlled vehicle), and
how to measure one vehicle's route progress (`Progress`). The simulator itself is highway-env's, unchanged,
for `highway` and `intersection`; highway-env's merge has a single ego vehicle by construction, so
`MultiAgentMergeEnv` places N controlled vehicles (highway and ramp) on the same road and judges each one the
way highway-env judges its ego (per-agent rewards and terminations, as its intersection env does).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium
import numpy as np
from highway_env import utils
from highway_env.envs.common.abstract import AbstractEnv
from highway_env.envs.highway_env import HighwayEnv
from highway_env.envs.intersection_env import IntersectionEnv
from highway_env.envs.merge_env import MergeEnv

from agentrl.environments.traffic.drivers import TRAFFIC_LEVELS

KINEMATICS = {"type": "Kinematics", "vehicles_count": 5, "features": ["presence", "x", "y", "vx", "vy"],
              "absolute": False, "normalize": True, "clip": True}


def multi_agent_config(n_agents: int, meta_actions: Mapping[str, Any], observation: Mapping[str, Any]) -> dict:
    """The highway-env config keys that give every controlled vehicle its own meta-actions and observation."""
    return {
        "controlled_vehicles": n_agents,
        "action": {"type": "MultiAgentAction", "action_config": {"type": "DiscreteMetaAction", **meta_actions}},
        "observation": {"type": "MultiAgentObservation", "observation_config": dict(observation)},
    }


class MultiAgentMergeEnv(MergeEnv):
    """highway-env's merge road with N controlled vehicles, some of them on the access ramp.

    Controlled vehicles fill `SLOTS` in order (the first is highway-env's ego slot, the second the ramp
    vehicle that must merge). Each is judged as highway-env judges its ego: `_agent_reward` is merge's
    normalised reward for that vehicle and its own lane change, `_agent_is_terminal` is a crash or passing the
    end of the ramp (x > 370 m). The episode is truncated after `duration` seconds. `_reward` is the mean over
    agents and `_info` carries the per-agent tuples, as in highway-env's intersection env.
    """

    SLOTS = ((("a", "b", 1), 30.0, 30.0), (("j", "k", 0), 110.0, 20.0), (("a", "b", 0), 45.0, 30.0),
             (("a", "b", 1), 115.0, 30.0), (("a", "b", 0), 130.0, 30.0), (("j", "k", 0), 80.0, 20.0))
    END_OF_RAMP_X = 370.0

    @classmethod
    def default_config(cls) -> dict:
        config = super().default_config()
        # controlled_slots: [[lane_index, longitudinal, speed], ...] in the order of `SLOTS`; None means SLOTS.
        config.update({"duration": 20, "controlled_vehicles": 2, "controlled_slots": None})
        return config

    def slots(self) -> tuple:
        """The controlled vehicles' (lane_index, longitudinal [m], speed [m/s]), from the config or `SLOTS`."""
        given = self.config.get("controlled_slots")
        if not given:
            return self.SLOTS
        try:
            return tuple((tuple(lane), float(s), float(v)) for lane, s, v in given)
        except (TypeError, ValueError) as e:
            raise ValueError("controlled_slots must list [lane_index, longitudinal, speed] per controlled vehicle, "
                             f"e.g. [[['a', 'b', 1], 30, 20]]; got {given!r}.") from e

    def _make_vehicles(self) -> None:
        n, slots = self.config["controlled_vehicles"], self.slots()
        if not 1 <= n <= len(slots):
            raise ValueError(f"merge supports 1 to {len(slots)} controlled vehicles here, got {n}.")
        road = self.road
        self.controlled_vehicles = []
        for lane_index, longitudinal, speed in slots[:n]:
            vehicle = self.action_type.vehicle_class(
                road, road.network.get_lane(lane_index).position(longitudinal, 0.0), speed=speed)
            road.vehicles.append(vehicle)
            self.controlled_vehicles.append(vehicle)
        background = utils.class_from_path(self.config["other_vehicles_type"])
        for position, speed in [(90.0, 29.0), (70.0, 31.0), (5.0, 31.5)]:
            lane = road.network.get_lane(("a", "b", self.np_random.integers(2)))
            position = lane.position(position + self.np_random.uniform(-5.0, 5.0), 0.0)
            speed += self.np_random.uniform(-1.0, 1.0)
            vehicle = background(road, position, speed=speed)
            vehicle.randomize_behavior()
            road.vehicles.append(vehicle)
        if n < 2:  # the ramp slot is free: a background vehicle merges, as in highway-env's merge
            merging = background(road, road.network.get_lane(("j", "k", 0)).position(110.0, 0.0), speed=20.0)
            merging.target_speed = 30.0
            merging.randomize_behavior()
            road.vehicles.append(merging)

    def _agent_reward(self, action: int, vehicle: Any) -> float:
        saved = self.controlled_vehicles
        self.controlled_vehicles = [vehicle] + [v for v in saved if v is not vehicle]
        try:
            return float(MergeEnv._reward(self, int(action)))
        finally:
            self.controlled_vehicles = saved

    def _agent_is_terminal(self, vehicle: Any) -> bool:
        return bool(vehicle.crashed or vehicle.position[0] > self.END_OF_RAMP_X)

    def _reward(self, action: tuple) -> float:
        return float(np.mean([self._agent_reward(a, v) for a, v in zip(action, self.controlled_vehicles)]))

    def _is_terminated(self) -> bool:
        return all(self._agent_is_terminal(v) for v in self.controlled_vehicles)

    def _is_truncated(self) -> bool:
        return self.time >= self.config["duration"]

    def _info(self, obs: Any, action: Any = None) -> dict:
        info = super()._info(obs, action)
        actions = action if isinstance(action, tuple) else (1,) * len(self.controlled_vehicles)
        info["agents_rewards"] = tuple(self._agent_reward(a, v) for a, v in zip(actions, self.controlled_vehicles))
        info["agents_terminated"] = tuple(self._agent_is_terminal(v) for v in self.controlled_vehicles)
        return info


@dataclasses.dataclass(frozen=True)
class Progress:
    """Route progress of one vehicle: an arc length `s` along its route and the `goal` arc length."""

    s: float
    goal: float

    @property
    def reached(self) -> bool:
        """The goal point is reached: one comparison of positions, so the outcome at the goal itself does not
        hang on how a subtraction rounds."""
        return self.s >= self.goal

    def fraction(self, start: float) -> float:
        span = self.goal - start
        if self.reached or span <= 0:
            return 1.0
        # Short of the goal, the fraction stays below 1 even where the division rounds up to 1.0, so
        # route_progress == 1.0 exactly when the goal is reached.
        return float(np.clip((self.s - start) / span, 0.0, np.nextafter(1.0, 0.0)))


def _highway_progress(env: AbstractEnv, vehicle: Any, start_x: float, route_length: float) -> Progress:
    return Progress(float(vehicle.position[0]), start_x + route_length)


def _merge_progress(env: AbstractEnv, vehicle: Any, start_x: float, route_length: float) -> Progress:
    return Progress(float(vehicle.position[0]), MultiAgentMergeEnv.END_OF_RAMP_X)


def _intersection_progress(env: AbstractEnv, vehicle: Any, start_x: float, route_length: float) -> Progress:
    """Arc length along the planned route; the goal is highway-env's arrival point (25 m into the exit lane)."""
    route = list(getattr(vehicle, "initial_route", None) or vehicle.route or [vehicle.lane_index])
    roads = [index[:2] for index in route]  # planned routes leave the lane id open (None)
    lengths = [env.road.network.get_lane((*road, 0)).length for road in roads]
    goal = sum(lengths[:-1]) + 25.0
    if vehicle.lane_index and vehicle.lane_index[:2] in roads:
        k = roads.index(vehicle.lane_index[:2])
        s = sum(lengths[:k]) + float(vehicle.lane.local_coordinates(vehicle.position)[0])
    else:  # off the planned route: no progress beyond the last known point
        s = getattr(vehicle, "last_route_s", 0.0)
    vehicle.last_route_s = s
    return Progress(s, goal)


ProgressFn = Callable[[AbstractEnv, Any, float, float], Progress]


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A highway-env environment class and its multi-agent configuration.

    `meta_actions` picks the meta-action set (lateral and/or longitudinal); `config` holds highway-env config
    keys for this scenario (traffic, duration); `route_length` is the distance to drive on an open highway.
    """

    name: str
    env_class: type[AbstractEnv]
    meta_actions: Mapping[str, Any]
    config: Mapping[str, Any]
    progress: ProgressFn
    route_length: float = 0.0
    gym_id: str | None = None  # highway-env's own registered id for the same simulator, if any

    def build_config(self, n_agents: int, traffic: str, observation: Mapping[str, Any] | None,
                     overrides: Mapping[str, Any] | None) -> dict:
        """The project's config: this scenario's keys, the traffic level, N agents' actions and kinematics
        observations, then `overrides` (key by key, as highway-env's `configure` merges)."""
        if traffic not in TRAFFIC_LEVELS:
            raise ValueError(f"traffic must be one of {sorted(TRAFFIC_LEVELS)}, got {traffic!r}.")
        if n_agents < 1:
            raise ValueError(f"n_agents must be >= 1, got {n_agents}.")
        config = {**self.config, "other_vehicles_type": TRAFFIC_LEVELS[traffic]}
        config.update(multi_agent_config(n_agents, self.meta_actions, observation or KINEMATICS))
        config.update(overrides or {})
        return config


SCENARIOS: dict[str, Scenario] = {
    "highway": Scenario("highway", HighwayEnv, {}, {"lanes_count": 3, "vehicles_count": 20, "duration": 30},
                        _highway_progress, route_length=600.0, gym_id="highway-v0"),
    "merge": Scenario("merge", MultiAgentMergeEnv, {}, {"duration": 20}, _merge_progress),
    "intersection": Scenario("intersection", IntersectionEnv,
                             {"longitudinal": True, "lateral": False, "target_speeds": [0, 4.5, 9]},
                             {"duration": 13, "initial_vehicle_count": 10, "spawn_probability": 0.6},
                             _intersection_progress, gym_id="intersection-v0"),
}


# highway-env's own registered envs that each scenario can run as, unchanged ("reference mode").
REFERENCE_IDS: dict[str, tuple[str, ...]] = {
    "highway": ("highway-v0", "highway-fast-v0"),
    "merge": ("merge-v0",),
    "intersection": ("intersection-v0", "intersection-multi-agent-v1"),
}


def reference_config(scenario: str, gym_id: str, n_agents: int, overrides: Mapping[str, Any] | None) -> dict:
    """The config keys to pass to highway-env's `gym_id` so it runs `n_agents` controlled vehicles and
    nothing else changes: none for one agent on a single-agent env (its own action and observation), the
    vehicle count on a multi-agent env, and on a single-agent env highway-env's documented multi-agent
    setting (`MultiAgentAction` / `MultiAgentObservation` around its own default action and observation
    configs). `overrides` follow, key by key; without them the run is highway-env's own, bit for bit."""
    if gym_id not in REFERENCE_IDS.get(scenario, ()):
        raise ValueError(f"reference={gym_id!r} is not a highway-env env of the {scenario!r} scenario; choose one "
                         f"of {list(REFERENCE_IDS.get(scenario, ()))}.")
    if n_agents < 1:
        raise ValueError(f"n_agents must be >= 1, got {n_agents}.")
    entry = gymnasium.spec(gym_id).entry_point
    defaults = utils.class_from_path(entry.replace(":", ".")).default_config()
    config: dict[str, Any] = {}
    if defaults["action"]["type"] == "MultiAgentAction":
        config["controlled_vehicles"] = n_agents
    elif n_agents > 1:
        if scenario == "merge":
            raise ValueError(f"highway-env's {gym_id} has a single ego vehicle by construction; use n_agents=1 "
                             "for its reference mode, or the project's merge (reference=None) for more.")
        config.update(controlled_vehicles=n_agents,
                      action={"type": "MultiAgentAction", "action_config": defaults["action"]},
                      observation={"type": "MultiAgentObservation", "observation_config": defaults["observation"]})
    config.update(overrides or {})
    return config
