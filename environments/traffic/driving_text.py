"""Text observations of the driving envs, built from an agent's info dict (full precision there; the
rounding happens here, in what the model is shown)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agentrl.types import AgentID


def _where(n: Mapping[str, Any], ego_lane: int | None) -> str:
    if n["lane"] is None:
        return f"on road {n['road']}, {n['distance']:.0f} m away"
    if n["lane"] == ego_lane:
        side = "your lane"
    else:
        side = f"lane {n['lane']} ({'left' if n['lane'] < (ego_lane or 0) else 'right'} of you)"
    return f"{side}, {n['gap']:.1f} m {'ahead' if n['ahead'] else 'behind'}"


def numbered(available: Sequence[str], names: Sequence[str] | None) -> str:
    """``0 LANE_LEFT, 1 IDLE, ...``: the available actions with their numbers (indices into `names`)."""
    if not names:
        return ", ".join(available)
    return ", ".join(f"{names.index(a)} {a}" for a in available)


def describe(agent: AgentID, info: Mapping[str, Any], messages: Mapping[AgentID, str] | None = None,
             names: Sequence[str] | None = None) -> str:
    """A text observation of one agent's situation, built from its info dict; `names` (the agent's action
    names in index order) numbers the available actions."""
    lane = info["lane"]
    lines = [f"You are {agent} at t={info['time']:.0f} s on the {info['scenario']} road {info['road']}.",
             (f"Your lane: {lane} of {info['lanes']} (lane 0 is leftmost). Speed: {info['speed']:.1f} m/s "
             f"(target {info['target_speed']:.1f}). Route progress: {100 * info['route_progress']:.0f}%.")]
    ahead = [n for n in info["nearby"] if n["lane"] == lane and n["ahead"]]
    if ahead:
        closing = -ahead[0]["relative_speed"]
        lines.append(f"Gap ahead in your lane: {ahead[0]['gap']:.1f} m, closing at {closing:.1f} m/s.")
    else:
        lines.append("Gap ahead in your lane: clear.")
    if info["nearby"]:
        lines.append("Nearby vehicles:")
        for n in info["nearby"]:
            who = n["id"] if n["id"] != "car" else "a car"
            rel = n["relative_speed"]
            speed = f"{abs(rel):.1f} m/s {'faster' if rel > 0 else 'slower'}" if abs(rel) >= 0.05 else "same speed"
            lines.append(f"- {who}: {_where(n, lane)}, {speed}{' (crashed)' if n['crashed'] else ''}.")
    for sender, text in sorted((messages or {}).items()):
        lines.append(f"Message from {sender}: {text}")
    lines.append(f"Available actions: {numbered(info['available_actions'], names)}. "
                 f"Reply with one action name{' or its number' if names else ''}.")
    return "\n".join(lines)


def brief(agent: AgentID, info: Mapping[str, Any], messages: Mapping[AgentID, str] | None = None,
          names: Sequence[str] | None = None) -> str:
    """A short observation for small models (every token of history costs them): road, lane, speed, route
    progress, the gap ahead, then the numbered actions last, right before the reply."""
    lane = info["lane"]
    ahead = [n for n in info["nearby"] if n["lane"] == lane and n["ahead"]]
    gap = f"{ahead[0]['gap']:.0f} m" if ahead else "clear"
    said = "".join(f" {s} says: {t}" for s, t in sorted((messages or {}).items()))
    return (f"road {info['road']} lane {lane} speed {info['speed']:.0f} route {100 * info['route_progress']:.0f}% "
            f"gap {gap}{said}\nAvailable actions: {numbered(info['available_actions'], names)}.")


OBSERVATIONS = {"full": describe, "brief": brief}
