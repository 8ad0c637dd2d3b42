"""Multi-agent traffic-signal control on SUMO through sumo-rl: one agent per traffic light.

`SignalParallelEnv` (PettingZoo ``ParallelEnv``) is sumo-rl's own parallel env, unchanged in its dynamics,
rewards and observations (sumo-rl's vector: phase one-hot, min-green flag, lane densities and queues). It only
adds, per light, a JSON-ready info that text and verifiers read:

- ``phase`` (current green phase index), ``phases`` (for each green phase, the incoming lanes it lets go),
- ``lanes``: per incoming lane, halted vehicles (``queue``) and accumulated waiting seconds (``waiting``),
- ``queue`` / ``waiting_time`` totals, ``waiting_time_change`` (the drop in waiting time over the step: sumo-rl's
  default reward), ``mean_speed``, and network-wide ``system_*`` figures from sumo-rl.

An action is the index of the green phase to show next (sumo-rl inserts the yellow and enforces min green);
with ``fixed_ts=True`` (sumo-rl's fixed-time mode) the lights follow the net file's programme and actions are
ignored. Episodes last `num_seconds` of simulated time (`delta_time` seconds per decision; the project's
default is 200 s, ``reference=True`` keeps sumo-rl's own: 20000 s, or 3600 s from RESCO's begin time); SUMO's
seed is the episode seed, so the same seed and actions give the same run. Infos are full precision (the
text rounds) and carry sumo-rl's raw observation vector (``observation``) from reset on.

`SignalEnv` adapts it to agentrl's contract: the text lists the phases and the queue on every lane; a reply
names a phase ("PHASE 2" or "2").
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pettingzoo import ParallelEnv

from agentrl.adapters import PettingZooParallelEnv
from agentrl.env import InvalidAction
from agentrl.policy_contract import ScriptedPolicy
from agentrl.types import AgentID, Task


def _import_sumo_rl():
    """sumo-rl needs SUMO_HOME (the eclipse-sumo wheel knows it) and, with PettingZoo >= 1.25, its old
    `agent_selector` name pointed at PettingZoo's `AgentSelector`."""
    if "SUMO_HOME" not in os.environ:
        import sumo

        os.environ["SUMO_HOME"] = sumo.SUMO_HOME
    import sumo_rl
    import sumo_rl.environment.env as sumo_env
    from pettingzoo.utils import AgentSelector

    if not callable(sumo_env.agent_selector):
        sumo_env.agent_selector = AgentSelector
    return sumo_rl


def network_files(network: str) -> dict[str, Any]:
    """Net and route files (and RESCO's begin time) of a network shipped with sumo-rl."""
    sumo_rl = _import_sumo_rl()
    nets = os.path.join(os.path.dirname(sumo_rl.__file__), "nets")
    known = {
        "single-intersection": {"net_file": f"{nets}/single-intersection/single-intersection.net.xml",
                                "route_file": f"{nets}/single-intersection/single-intersection.rou.xml"},
        "2x2grid": {"net_file": f"{nets}/2x2grid/2x2.net.xml", "route_file": f"{nets}/2x2grid/2x2.rou.xml"},
    }
    for resco in ("cologne1", "cologne3", "cologne8", "ingolstadt1", "ingolstadt7", "ingolstadt21"):
        folder = f"{nets}/RESCO/{resco}"
        known[resco] = {"net_file": f"{folder}/{resco}.net.xml", "route_file": f"{folder}/{resco}.rou.xml",
                        "begin_time": 25200 if resco.startswith("cologne") else 57600}
    if network not in known:
        raise ValueError(f"unknown SUMO network {network!r}; choose one of {sorted(known)}.")
    return known[network]


def reference_num_seconds(network: str) -> int:
    """sumo-rl's own episode length for a network: RESCO's functions run one hour from their begin time;
    `SumoEnvironment` defaults to 20000 s."""
    return 3600 if "begin_time" in network_files(network) else 20000


QUIET_SUMO = "--no-step-log true --duration-log.disable true"  # keep SUMO's progress lines out of test logs


def _f(x: Any) -> float:
    return float(x)


def _is_green(state: str) -> bool:
    """sumo-rl's rule for a green phase: no yellow, and not all red."""
    return "y" not in state and state.count("r") + state.count("s") != len(state)


class SignalParallelEnv(ParallelEnv):
    """sumo-rl's parallel env for one network, with text-ready infos; see the module docstring.

    Extra keyword arguments go to sumo-rl (``delta_time``, ``yellow_time``, ``min_green``, ``reward_fn``,
    ``fixed_ts``...). `num_seconds` None is the project's 200 s, or with ``reference=True`` sumo-rl's own
    default for the network (its `SumoEnvironment` default, or its RESCO function's); reference mode changes
    nothing else (the project sets no other dynamics; SUMO's log flags change no result).
    """

    metadata: ClassVar[dict] = {"name": "agentrl_signals_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, network: str = "single-intersection", num_seconds: int | None = None,
                 reference: bool = False, **sumo_kwargs: Any):
        sumo_rl = _import_sumo_rl()
        files = network_files(network)
        if num_seconds is None:
            num_seconds = reference_num_seconds(network) if reference else 200
        self.network = network
        self.reference = reference
        kwargs = {"use_gui": False, "sumo_warnings": False, "num_seconds": num_seconds,
                  "additional_sumo_cmd": QUIET_SUMO, **files, **sumo_kwargs}
        self.sim = sumo_rl.parallel_env(**kwargs)
        self.possible_agents = list(self.sim.possible_agents)
        self.agents: list[AgentID] = []
        self._last_wait: dict[AgentID, float] = {}

    @property
    def core(self) -> Any:
        """sumo-rl's `SumoEnvironment` (traffic signals, the TraCI connection)."""
        return self.sim.unwrapped.env

    def observation_space(self, agent: AgentID):
        return self.sim.observation_space(agent)

    def action_space(self, agent: AgentID):
        return self.sim.action_space(agent)

    def reset(self, seed: int | None = None, options: Mapping[str, Any] | None = None):
        obs, _ = self.sim.reset(seed=seed, options=options)
        self.agents = list(self.sim.agents)
        self._last_wait = {a: self._waiting(a) for a in self.possible_agents}
        return obs, {a: {**self.light_info(a), "observation": obs[a].tolist()} for a in obs}

    def step(self, actions: Mapping[AgentID, int]):
        chosen = {a: int(x) for a, x in actions.items()}
        if self.core.fixed_ts:  # sumo-rl ignores the actions then, but its parallel wrapper wants one per light
            chosen = {a: chosen.get(a, 0) for a in self.sim.agents}
        obs, rewards, terms, truncs, infos = self.sim.step(chosen)
        self.agents = [a for a in self.sim.agents if not (terms.get(a) or truncs.get(a))]
        out_infos = {a: {**self.light_info(a), **{k: _f(v) for k, v in infos.get(a, {}).items()
                                                   if k.startswith("system_")},
                         **({"observation": obs[a].tolist()} if a in obs else {})} for a in rewards}
        return (obs, {a: float(r) for a, r in rewards.items()}, {a: bool(t) for a, t in terms.items()},
                {a: bool(t) for a, t in truncs.items()}, out_infos)

    def close(self) -> None:
        self.sim.close()

    def _waiting(self, agent: AgentID) -> float:
        return float(sum(self.core.traffic_signals[agent].get_accumulated_waiting_time_per_lane()))

    def phase_lanes(self, agent: AgentID) -> list[list[str]]:
        """For each green phase, the incoming lanes that get green (from the phase state and the light's links)."""
        ts = self.core.traffic_signals[agent]
        links = ts.sumo.trafficlight.getControlledLinks(agent)
        out = []
        for phase in self._green_phases(agent):
            lanes = sorted({links[i][0][0] for i, s in enumerate(phase.state) if s in "Gg" and i < len(links)
                            and links[i]})
            out.append(lanes)
        return out

    def _green_phases(self, agent: AgentID) -> list:
        """The light's green phases: sumo-rl's list, or in fixed-time mode (where sumo-rl builds none) the green
        phases of the programme SUMO runs."""
        ts = self.core.traffic_signals[agent]
        if not self.core.fixed_ts:
            return ts.green_phases
        return [p for p in ts.sumo.trafficlight.getAllProgramLogics(agent)[0].phases if _is_green(p.state)]

    def _green_phase(self, agent: AgentID) -> int:
        """The green phase shown now or, during a yellow, last (fixed-time mode: counted in the programme)."""
        ts = self.core.traffic_signals[agent]
        if not self.core.fixed_ts:
            return int(ts.green_phase)
        program = ts.sumo.trafficlight.getAllProgramLogics(agent)[0].phases
        current = ts.sumo.trafficlight.getPhase(agent)
        greens = sum(1 for p in program[:current + 1] if _is_green(p.state))
        return (greens - 1) % max(1, sum(1 for p in program if _is_green(p.state)))

    def light_info(self, agent: AgentID) -> dict[str, Any]:
        ts = self.core.traffic_signals[agent]
        lane = ts.sumo.lane
        lanes = {name: {"queue": int(lane.getLastStepHaltingNumber(name)), "vehicles": int(lane.getLastStepVehicleNumber(name))}
                 for name in ts.lanes}
        for name, wait in zip(ts.lanes, ts.get_accumulated_waiting_time_per_lane()):
            lanes[name]["waiting"] = _f(wait)
        waiting = self._waiting(agent)
        change = self._last_wait.get(agent, waiting) - waiting
        self._last_wait[agent] = waiting
        return {
            "network": self.network, "reference": self.reference, "time": _f(self.core.sim_step),
            "fixed_ts": bool(self.core.fixed_ts), "phase": self._green_phase(agent),
            "phases": self.phase_lanes(agent), "lanes": lanes,
            "queue": int(sum(v["queue"] for v in lanes.values())), "waiting_time": _f(waiting),
            "waiting_time_change": _f(change), "mean_speed": _f(ts.get_average_speed()),
        }


def describe(agent: AgentID, info: Mapping[str, Any]) -> str:
    """Text observation of one light: current phase, what each phase lets go, queue and waiting per lane."""
    lines = [f"You control traffic light {agent} at t={info['time']:.0f} s. Current green phase: {info['phase']}.",
             "Phases (green for incoming lanes):"]
    for i, lanes in enumerate(info["phases"]):
        queued = sum(info["lanes"].get(name, {}).get("queue", 0) for name in lanes)
        lines.append(f"- PHASE {i}: {', '.join(lanes) or 'none'} (queued there: {queued})")
    lines.append("Incoming lanes (halted vehicles, vehicles, accumulated waiting s):")
    for name, lane in sorted(info["lanes"].items()):
        lines.append(f"- {name}: queue {lane['queue']}, vehicles {lane['vehicles']}, waiting {lane['waiting']:.0f}")
    lines.append(f"Total queue: {info['queue']}. Reply with the phase to show next, e.g. PHASE 0.")
    return "\n".join(lines)


class SignalEnv(PettingZooParallelEnv):
    """The sumo-rl networks through agentrl's contract: text in, a phase number out."""

    def __init__(self, network: str = "single-intersection", num_seconds: int | None = None, max_invalid: int = 3,
                 reference: bool = False, **sumo_kwargs: Any):
        super().__init__(lambda: SignalParallelEnv(network, num_seconds, reference=reference, **sumo_kwargs),
                         observe=lambda agent, obs, info: describe(agent, info), parse_action=self._parse,
                         max_invalid=max_invalid)

    def _parse(self, agent: AgentID, text: str) -> int:
        n = int(self.env.action_space(agent).n)
        found = re.findall(r"\d+", text)
        if not found:
            raise InvalidAction(f"reply with a phase number from 0 to {n - 1}, e.g. PHASE 0.")
        if len(set(map(int, found))) > 1:  # a list of every phase is not a choice
            raise InvalidAction(f"reply with one phase number, e.g. PHASE 0; the reply names {len(set(found))}.")
        phase = int(found[-1])
        if not 0 <= phase < n:
            raise InvalidAction(f"phase {phase} does not exist; this light has phases 0 to {n - 1}.")
        return phase


# --- tasks, rubric, controllers ------------------------------------------------------------------------------
_PROMPT = ("You control one traffic light of a road network; other lights are controlled by other agents. "
           "Every few seconds choose which green phase to show. Keep queues and waiting times short.")


def tasks(split: str = "train") -> list[Task]:
    """Four tasks per split; the seed varies SUMO's randomness. Splits differ only in their ids and seeds used."""
    if split not in ("train", "test"):
        raise ValueError(f"signal tasks have splits 'train' and 'test', got {split!r}.")
    return [Task(id=f"signals-{split}-{i}", split=split, prompt=({"role": "system", "content": _PROMPT},))
            for i in range(4)]


def rubric():
    from agentrl.verifiers.driving import signal_rubric

    return signal_rubric()


_PHASE_LINE = re.compile(r"- PHASE (\d+): .*\(queued there: (\d+)\)")
_CURRENT = re.compile(r"Current green phase: (\d+)")


def longest_queue_first(agent: AgentID, messages, rng) -> str:
    """A max-pressure-like rule: show the phase whose green lanes hold the most halted vehicles."""
    text = messages[-1].get("content") or ""
    phases = [(int(q), -int(p)) for p, q in _PHASE_LINE.findall(text)]
    if not phases:
        return "PHASE 0"
    best = max(range(len(phases)), key=lambda i: (phases[i], -i))
    return f"PHASE {best}"


def fixed_time(agent: AgentID, messages, rng) -> str:
    """A fixed-time controller: move to the next phase every decision (sumo-rl holds min green)."""
    text = messages[-1].get("content") or ""
    current = _CURRENT.search(text)
    n = len(_PHASE_LINE.findall(text)) or 1
    return f"PHASE {(int(current.group(1)) + 1) % n if current else 0}"


def scripted_policy(seed: int = 0) -> ScriptedPolicy:
    return ScriptedPolicy(longest_queue_first, seed=seed)


def fixed_time_policy(seed: int = 0) -> ScriptedPolicy:
    return ScriptedPolicy(fixed_time, seed=seed)
