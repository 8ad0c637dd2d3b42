"""Where a distributed run's processes go: one Ray placement group for the learner ranks and rollout workers.

Bundle i < ``ranks`` is learner rank i (its GPUs, if any); bundle ``ranks + j`` is rollout worker j.
`scheduling` pins an actor to its bundle.
"""

from __future__ import annotations

from typing import Any

from agentrl.errors import ConfigError


def placement(d: Any) -> Any:
    """One bundle per learner rank (`d.ranks` of them, first), then one per rollout worker, packed by
    `d.placement_strategy`. Bundle i < d.ranks is learner rank i; bundle d.ranks + j is rollout worker j."""
    from ray.util.placement_group import placement_group

    def bundle(cpus: float, gpus: float) -> dict[str, float]:
        return {"CPU": cpus, **({"GPU": gpus} if gpus else {})}

    bundles = [bundle(1, d.gpus_per_learner_rank) for _ in range(d.ranks)]
    bundles += [bundle(d.cpus_per_actor, d.gpus_per_rollout_worker) for _ in range(d.num_rollout_workers)]
    import ray

    wanted, have = sum(b.get("GPU", 0.0) for b in bundles), ray.cluster_resources().get("GPU", 0.0)
    if d.address is None and wanted > have:  # a local Ray never grows: waiting for GPUs would only time out
        raise ConfigError(f"the run asks for {wanted:g} GPUs (learner: {d.ranks} x {d.gpus_per_learner_rank:g}, "
                          f"rollout workers: {d.num_rollout_workers} x {d.gpus_per_rollout_worker:g}) and this "
                          f"machine's Ray has {have:g}; lower distributed.learner_gpus / gpus_per_rollout_worker "
                          "(0: CPU) or join a cluster (--address).")
    group = placement_group(bundles, strategy=d.placement_strategy, name=f"{d.namespace}-train")

    ray.get(group.ready(), timeout=600)
    return group


def scheduling(group: Any, index: int) -> Any:
    """The Ray scheduling strategy that puts an actor (and the tasks it starts) in bundle `index` of `group`."""
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    return PlacementGroupSchedulingStrategy(placement_group=group, placement_group_bundle_index=index,
                                            placement_group_capture_child_tasks=True)

