"""Reward terms and outcome metrics for driving and traffic-signal envs, as plain reward functions.

They read the per-step info the traffic envs attach to each turn (`agentrl.environments.traffic`):

- driving infos carry ``route_progress`` (0..1), ``crashed``, ``on_road``, ``arrived``, ``speed``;
- signal infos carry ``queue`` (halted vehicles on the light's incoming lanes), ``waiting_time`` (their
  accumulated waiting seconds), ``mean_speed`` and, network-wide, ``system_*`` figures.

CaRL's reward is route completion with infractions that either end the episode (the env terminates on a
crash) or scale the completion down multiplicatively. `carl_rubric` builds it with
`MultiplicativePenalty`: ``route_completion * collision_factor ** collisions * offroad_factor ** offroad_steps``.
Infraction terms return counts, so the combiner can raise a factor to that power.

Outcome metrics (crash, arrived, mean speed, mean waiting time) are single numbers per agent; aggregate them
over episodes with `outcome_metrics` (crash rate, all-arrived rate, ...). Log-only terms have weight 0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agentrl.rubric import Rubric, reward
from agentrl.types import Episode
from agentrl.verifiers.combine import MultiplicativePenalty


def _infos(turns: Sequence[Any]) -> list[Mapping[str, Any]]:
    return [t.info for t in turns if t.info]


def _last(turns: Sequence[Any], key: str) -> Any:
    for info in reversed(_infos(turns)):
        if key in info:
            return info[key]
    return None


# --- driving: outcome terms ---------------------------------------------------------------------------------
def route_completion(turns) -> float | None:
    """Fraction of the route driven, 0..1 (CaRL's main term). 0 for an agent whose every reply was refused
    (it never moved its vehicle); None for an agent without turns."""
    if not turns:
        return None
    value = _last(turns, "route_progress")
    return 0.0 if value is None else float(value)


def collisions(turns) -> float | None:
    """1.0 when the agent's vehicle crashed during the episode (a crash ends its episode), else 0.0."""
    infos = _infos(turns)
    return float(any(i.get("crashed") for i in infos)) if infos else None


def offroad_steps(turns) -> float | None:
    """How many of the agent's steps ended with its vehicle off the road."""
    infos = _infos(turns)
    return float(sum(1 for i in infos if i.get("on_road") is False)) if infos else None


def arrived(turns) -> float | None:
    """1.0 when the agent reached the end of its route."""
    infos = _infos(turns)
    return float(any(i.get("arrived") for i in infos)) if infos else None


def mean_speed(turns) -> float | None:
    """Mean speed over the agent's steps [m/s] (Multi-ORFT's average speed); log-only by default."""
    speeds = [float(i["speed"]) for i in _infos(turns) if "speed" in i]
    return sum(speeds) / len(speeds) if speeds else None


def invalid_replies(turns) -> float | None:
    """How many of the agent's replies named no action (envs with ``invalid_action="idle"`` drove IDLE for
    them and flagged the turn ``invalid_reply``); None where the env does not flag replies."""
    flags = [i["invalid_reply"] for i in _infos(turns) if "invalid_reply" in i]
    return float(sum(map(bool, flags))) if flags else None


def survival_steps(turns) -> float | None:
    """Steps the agent drove without crashing (iPLAN's survival time, in decision steps)."""
    infos = _infos(turns)
    if not infos:
        return None
    for k, info in enumerate(infos):
        if info.get("crashed"):
            return float(k)
    return float(len(infos))


# --- driving: turn terms ------------------------------------------------------------------------------------
def collision_penalty(info) -> float | None:
    """-1 on the step the vehicle is crashed; 0 otherwise."""
    return -float(bool(info.get("crashed"))) if "crashed" in info else None


def offroad_penalty(info) -> float | None:
    """-1 for a step that ends off the road; 0 otherwise."""
    return -float(info.get("on_road") is False) if "on_road" in info else None


def speed_reward(low: float = 20.0, high: float = 30.0):
    """A turn term in [0, 1]: speed mapped linearly from [low, high] (highway-env's high-speed reward)."""
    if not high > low:
        raise ValueError(f"speed_reward needs high > low, got low={low}, high={high}.")

    def speed(info) -> float | None:
        if "speed" not in info:
            return None
        return min(max((float(info["speed"]) - low) / (high - low), 0.0), 1.0)

    return speed


@dataclasses.dataclass(frozen=True)
class ValidReplyShare:
    """`inner`'s reward times the share of replies that named an action. Where the env drives IDLE for a
    reply that is not an action, the car still moves: without this, replying nonsense would earn IDLE's route
    progress (a reward hack). Envs that do not flag replies (None) keep `inner`'s reward."""

    inner: Any
    term: str = "invalid_replies"

    def __call__(self, scores: Any) -> float:
        value, invalid = self.inner(scores), scores.outcome.get(self.term)
        if invalid is None or not scores.turns:
            return value
        return value * max(0.0, 1.0 - invalid / len(scores.turns))


def carl_rubric(collision_factor: float = 0.0, offroad_factor: float = 0.9) -> Rubric:
    """CaRL: route completion times a factor per infraction, times the share of replies that were actions;
    metrics logged with weight 0.

    A collision ends a vehicle's episode in the env; `collision_factor` (default 0) additionally zeroes the
    score of an episode that ended that way. Each off-road step multiplies by `offroad_factor`.
    """
    return Rubric(
        outcome=[reward(route_completion), reward(collisions, weight=0.0), reward(offroad_steps, weight=0.0),
                 reward(arrived, weight=0.0), reward(mean_speed, weight=0.0), reward(survival_steps, weight=0.0),
                 reward(invalid_replies, weight=0.0)],
        combine=ValidReplyShare(MultiplicativePenalty("route_completion", {"collisions": collision_factor,
                                                                           "offroad_steps": offroad_factor})),
        env_weight=0.0,
    )


def shaped_driving_rubric(speed_weight: float = 0.2, arrival_weight: float = 1.0) -> Rubric:
    """A summed, shaped alternative (the kind CaRL argues against at large batch sizes), for comparison."""
    return Rubric(
        turn={"collision": collision_penalty, "offroad": offroad_penalty, "speed": (speed_reward(), speed_weight)},
        outcome={"arrived": (arrived, arrival_weight), "route_completion": (route_completion, 0.0),
                 "mean_speed": (mean_speed, 0.0)},
        env_weight=0.0,
    )


# --- traffic signals ----------------------------------------------------------------------------------------
def queue_reward(info) -> float | None:
    """Minus the number of halted vehicles on the light's incoming lanes after the step (queue-length reward)."""
    return -float(info["queue"]) if "queue" in info else None


def waiting_time_reward(info) -> float | None:
    """The drop in the lanes' accumulated waiting time over the step [s] (sumo-rl's default reward)."""
    return float(info["waiting_time_change"]) if "waiting_time_change" in info else None


def mean_queue(turns) -> float | None:
    queues = [float(i["queue"]) for i in _infos(turns) if "queue" in i]
    return sum(queues) / len(queues) if queues else None


def mean_waiting_time(turns) -> float | None:
    """Mean over steps of the network's mean waiting time per vehicle [s]."""
    waits = [float(i["system_mean_waiting_time"]) for i in _infos(turns) if "system_mean_waiting_time" in i]
    return sum(waits) / len(waits) if waits else None


def signal_rubric(queue_weight: float = 1.0, waiting_weight: float = 0.0) -> Rubric:
    """Queue length per step (and optionally the waiting-time difference); waiting and speed logged."""
    return Rubric(
        turn={"queue": (queue_reward, queue_weight), "waiting_time": (waiting_time_reward, waiting_weight)},
        outcome={"mean_queue": (mean_queue, 0.0), "mean_waiting_time": (mean_waiting_time, 0.0)},
        env_weight=0.0,
    )


# --- metrics over many episodes -----------------------------------------------------------------------------
def outcome_metrics(episodes: Iterable[Episode]) -> dict[str, float]:
    """Crash rate, all-arrived rate, mean speed, mean waiting time and more over scored episodes.

    Reads the outcome terms the rubrics above put in ``episode.outcome_rewards``; a metric is reported only
    when some episode has it. Rates are over agents (crash rate) or over episodes (all-arrived rate).
    """
    per_agent: dict[str, list[float]] = {}
    all_arrived: list[float] = []
    for ep in episodes:
        if ep.status.is_failure:
            continue
        arrivals = []
        for terms in ep.outcome_rewards.values():
            for name, value in terms.items():
                if value is not None:
                    per_agent.setdefault(name, []).append(float(value))
            if terms.get("arrived") is not None:
                arrivals.append(terms["arrived"])
        if arrivals:
            all_arrived.append(float(all(a >= 1.0 for a in arrivals)))
    out = {}
    renames = {"collisions": "crash_rate", "arrived": "arrival_rate"}
    for name, values in per_agent.items():
        out[renames.get(name, name)] = sum(values) / len(values)
    if all_arrived:
        out["all_arrived_rate"] = sum(all_arrived) / len(all_arrived)
    return out
