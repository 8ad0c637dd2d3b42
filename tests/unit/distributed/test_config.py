"""The `distributed` section: defaults, validation with errors that say how to fix the input."""

from __future__ import annotations

import pytest

from agentrl.config import load_config
from agentrl.distributed.config import DistributedConfig, RayTrainConfig
from agentrl.errors import ConfigError, UnknownKeyError


def test_a_plain_train_config_is_a_ray_config():
    cfg = load_config(RayTrainConfig, None, ["run.steps=7"])
    assert cfg.run.steps == 7 and cfg.distributed == DistributedConfig()


def test_sync_mode_has_lag_zero():
    assert DistributedConfig(mode="sync", max_policy_lag=3).lag == 0
    assert DistributedConfig(mode="async", max_policy_lag=3).lag == 3


@pytest.mark.parametrize("override, message", [
    ("distributed.max_policy_lag=-1", "max_policy_lag must be >= 0"),
    ("distributed.num_env_actors=0", ">= 1"),
    ("distributed.mode=fast", "not one of"),
    ("distributed.setup=[no_colon]", "module:function"),
    ("distributed.learner_gpus=1.5", "whole number"),
    ("distributed.learner_gpus=-1", ">= 0"),
    ("distributed.learner_ranks=0", "learner_ranks must be >= 1"),
    ("distributed.learner_compute_dtype=int8", "learner_compute_dtype"),
    ("distributed.weight_sync=nccl", "does not call yet"),
])
def test_bad_values_are_explained(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(RayTrainConfig, None, [override])


def test_learner_ranks_follow_whole_gpus_or_are_asked_for_on_cpu():
    def d(**kw):
        return DistributedConfig(**kw)

    assert (d().ranks, d().gpus_per_learner_rank) == (1, 0.0)
    assert (d(learner_gpus=0.5).ranks, d(learner_gpus=0.5).gpus_per_learner_rank) == (1, 0.5)
    assert (d(learner_gpus=1).ranks, d(learner_gpus=8).ranks, d(learner_gpus=8).gpus_per_learner_rank) == (1, 8, 1.0)
    assert d(learner_ranks=2).ranks == 2 and d(learner_ranks=2).gpus_per_learner_rank == 0.0
    assert d(learner_gpus=4, learner_ranks=4).ranks == 4


@pytest.mark.parametrize("overrides, message", [
    (["distributed.learner_gpus=8", "distributed.learner_ranks=4"], "drop learner_ranks"),
    (["distributed.learner_gpus=0.5", "distributed.learner_ranks=2"], "whole GPU each"),
    (["distributed.learner_ranks=2", "learner.mini_batches=2"], "set learner.mini_batches: 1"),
    (["distributed.learner_gpus=2", "algorithm.advantage=gae", "learner.value_head=true"], "not sharded"),
])
def test_learner_rank_combinations_that_cannot_work_say_how_to_fix(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(RayTrainConfig, None, overrides)


def test_unknown_keys_list_the_valid_ones():
    with pytest.raises(UnknownKeyError, match="max_policy_lag"):
        load_config(RayTrainConfig, None, ["distributed.max_lag=1"])


@pytest.mark.parametrize("overrides, message", [
    (["algorithm.advantage=gae"], "set learner.value_head=true"),
    (["algorithm.kl_coef=0.1"], "learner.reference_model=true"),
    (["rollout.dynamic_sampling=true", "rollout.group_size=1"], "group_size >= 2"),
    (["rollout.max_sampling_rounds=0"], "max_sampling_rounds must be >= 1"),
    (["algorithm.overlong_max_tokens=8"], "overlong_cache_tokens"),
    (["distributed.stale=downweight", "algorithm.tis_cap=5.0"], "set one of them"),
    (["policies=[{name: a, agents: [x]}, {name: a, agents: [y]}]"], "unique"),
    (["policies=[{name: a}]"], "lists the agents"),
])
def test_combinations_that_cannot_work_fail_at_load(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(RayTrainConfig, None, overrides)


def test_train_keys_load_the_same_in_both_trainers():
    from agentrl.train import TrainConfig

    keys = ["algorithm.advantage=gae", "learner.value_head=true", "learner.vf_coef=0.25",
            "rollout.dynamic_sampling=true", "rollout.max_sampling_rounds=4", "algorithm.overlong_max_tokens=8",
            "algorithm.overlong_cache_tokens=2", ("policies=[{name: a, agents: [player_1]}, {name: b, agents: "
            "[player_2], lr: 0.01}]")]
    local, ray = load_config(TrainConfig, None, keys), load_config(RayTrainConfig, None, keys)
    for field in ("algorithm", "learner", "rollout", "policies"):
        assert getattr(local, field) == getattr(ray, field)


def test_policy_map_is_the_local_trainers():
    from agentrl.distributed import policies

    cfg = load_config(RayTrainConfig, None, ["env.id=classic/TicTacToe-v0",
                                             "policies=[{name: x, agents: [player_1]}, {name: o, agents: [player_2]}]"])
    assert [(p.name, p.agents) for p in policies.resolve(cfg)] == [("x", ("player_1",)), ("o", ("player_2",))]
    assert policies.resolve(load_config(RayTrainConfig, None, []))[0].name == "main"
    assert policies.trained_agents(policies.resolve(load_config(RayTrainConfig, None, []))[0]) is None
    assert policies.actor_names("x", False, 2) == ("learner-x", ["rollout-x-0", "rollout-x-1"])
    assert policies.actor_names("main", True, 1) == ("learner", ["rollout-0"])
    wrong = load_config(RayTrainConfig, None, ["env.id=classic/TicTacToe-v0", "policies=[{name: x, agents: [player_1]}]"])
    with pytest.raises(ConfigError, match="in no policy"):
        policies.resolve(wrong)
