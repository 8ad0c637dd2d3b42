"""Multi-agent traffic: driving on highway-env and traffic-signal control on SUMO (sumo-rl).

- `driving`: highway, merge and intersection with N controlled vehicles, as a PettingZoo parallel env
  (`DrivingParallelEnv`) and as an agentrl env with text observations (`DrivingEnv`); heterogeneous
  background drivers in `drivers`.
- `signals`: sumo-rl networks with one agent per traffic light (`SignalParallelEnv`, `SignalEnv`).

Rewards live in `agentrl.verifiers.driving`. `register_envs` registers the ids below; the registry never
imports this package until an id is made.
"""

from __future__ import annotations

from agentrl.registry import register

_D = "agentrl.environments.traffic.driving"
_S = "agentrl.environments.traffic.signals"

# Short episodes by default (highway-env at 5 Hz as in its "fast" variants): a turn is a model call per agent.
_FAST = {"simulation_frequency": 5}
# MergeRoles: the highway car starts ahead of the background traffic in the left lane at 20 m/s (FASTER takes
# it to 30 m/s: route completion ~0.7 idling, ~1.0 at full speed); the ramp car starts at 20 m/s 10 m before
# the ramp's bend and reaches the obstacle that closes the ramp (x = 310 m) in about 8.5 s unless it changes
# lanes left on the 80 m merge section (a crash zeroes its CaRL reward; merged, it completes ~0.78).
MERGE_ROLES_SLOTS = [[["a", "b", 0], 110.0, 20.0], [["j", "k", 0], 140.0, 20.0]]


def register_envs(override: bool = False) -> None:
    """Register the traffic envs (`override=True` replaces earlier registrations, as tests need)."""
    register("traffic/Highway-v0", f"{_D}:DrivingEnv", tasks=f"{_D}:highway_tasks", rubric=f"{_D}:rubric",
             scripted_policy=f"{_D}:scripted_policy", max_turns=20, override=override,
             kwargs={"scenario": "highway", "n_agents": 2, "base_config": {**_FAST, "duration": 20}},
             description="Two LLM drivers on a 3-lane highway among mild/chaotic background traffic (iPLAN).")
    register("traffic/Merge-v0", f"{_D}:DrivingEnv", tasks=f"{_D}:merge_tasks", rubric=f"{_D}:rubric",
             scripted_policy=f"{_D}:scripted_policy", max_turns=20, override=override,
             kwargs={"scenario": "merge", "n_agents": 2, "base_config": {**_FAST, "duration": 20}},
             description="A highway driver and a ramp driver negotiate a merge.")
    register("traffic/MergeRoles-v0", f"{_D}:DrivingEnv", tasks=f"{_D}:merge_roles_tasks", rubric=f"{_D}:rubric",
             scripted_policy=f"{_D}:scripted_policy", max_turns=10, override=override,
             kwargs={"scenario": "merge", "n_agents": 2, "observation": "brief", "invalid_action": "idle",
                     "base_config": {**_FAST, "duration": 9, "controlled_slots": MERGE_ROLES_SLOTS}},
             description="Merge with two roles that want different things: the highway car (agent_0) gains by "
                         "speeding up, the ramp car (agent_1) must change lanes before its lane ends. Short "
                         "observations, numbered actions, no instructions: made for training tiny models.")
    register("traffic/Intersection-v0", f"{_D}:DrivingEnv", tasks=f"{_D}:intersection_tasks",
             rubric=f"{_D}:rubric", scripted_policy=f"{_D}:scripted_policy", max_turns=13, override=override,
             kwargs={"scenario": "intersection", "n_agents": 2, "base_config": {**_FAST, "duration": 13}},
             description="Two drivers cross an unsignalised four-way intersection with cross traffic.")
    register("traffic/SumoSingle-v0", f"{_S}:SignalEnv", tasks=f"{_S}:tasks", rubric=f"{_S}:rubric",
             scripted_policy=f"{_S}:scripted_policy", max_turns=40, override=override,
             kwargs={"network": "single-intersection"},
             description="One traffic light (sumo-rl single intersection); phases chosen from queue text.")
    register("traffic/SumoGrid2x2-v0", f"{_S}:SignalEnv", tasks=f"{_S}:tasks", rubric=f"{_S}:rubric",
             scripted_policy=f"{_S}:scripted_policy", max_turns=40, override=override,
             kwargs={"network": "2x2grid"},
             description="Four traffic lights on sumo-rl's 2x2 grid, one agent each.")
    register("traffic/SumoCologne8-v0", f"{_S}:SignalEnv", tasks=f"{_S}:tasks", rubric=f"{_S}:rubric",
             scripted_policy=f"{_S}:scripted_policy", max_turns=40, override=override,
             kwargs={"network": "cologne8"},
             description="Eight traffic lights of RESCO's real Cologne network, one agent each.")
    # Reference modes: the reference library's own env and defaults, unchanged (docs/traffic.md). highway-v0 and
    # sumo-rl's defaults are kwargs, not ids: `make("traffic/HighwayFastRef-v0", reference="highway-v0")`,
    # `make("traffic/SumoSingle-v0", reference=True)` (50 cars at 15 Hz and 20000 s episodes are too slow for
    # the contract check that every registered id gets).
    for name, scenario, gym_id, n, turns in (("HighwayFastRef", "highway", "highway-fast-v0", 2, 30),
                                             ("MergeRef", "merge", "merge-v0", 1, 40),
                                             ("IntersectionRef", "intersection", "intersection-multi-agent-v1", 2, 13)):
        register(f"traffic/{name}-v0", f"{_D}:DrivingEnv", tasks=f"{_D}:reference_tasks", rubric=f"{_D}:rubric",
                 scripted_policy=f"{_D}:scripted_policy", max_turns=turns, override=override,
                 kwargs={"scenario": scenario, "n_agents": n, "reference": gym_id},
                 description=f"highway-env's {gym_id} itself, its own defaults, {n} controlled vehicle(s).")
