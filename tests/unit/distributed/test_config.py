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
    (["distributed.learner_gpus=2", "algorithm.advantage.estimator=gae", "learner.value_head=true"], "not sharded"),
])
def test_learner_rank_combinations_that_cannot_work_say_how_to_fix(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(RayTrainConfig, None, overrides)


def test_unknown_keys_list_the_valid_ones():
    with pytest.raises(UnknownKeyError, match="max_policy_lag"):
        load_config(RayTrainConfig, None, ["distributed.max_lag=1"])


@pytest.mark.parametrize("overrides, message", [
    (["algorithm.advantage.estimator=gae"], "set learner.value_head=true"),
    (["algorithm.loss.kl_coef=0.1"], "learner.reference_model=true"),
    (["rollout.dynamic_sampling=true", "rollout.group_size=1"], "group_size >= 2"),
    (["rollout.max_sampling_rounds=0"], "max_sampling_rounds must be >= 1"),
    (["algorithm.overlong.max_tokens=8"], "overlong.cache_tokens"),
    (["policies=[{name: a, agents: [x]}, {name: a, agents: [y]}]"], "unique"),
    (["policies=[{name: a}]"], "lists the agents"),
    (["selfplay.enabled=true", "rollout.dynamic_sampling=true"], "do not combine"),
    (["algorithm.entropy_coef=0.1"], "is now algorithm.loss.entropy_coef"),
    (["algorithm.advantage=rloo"], "is a section"),
])
def test_both_trainers_refuse_the_same_configs_with_the_same_message(overrides, message):
    """One check, in the core: `agentrl train` and `agentrl train-ray` refuse alike, word for word."""
    from agentrl.training.config import TrainConfig

    with pytest.raises(ConfigError, match=message) as local:
        load_config(TrainConfig, None, overrides)
    with pytest.raises(ConfigError, match=message) as ray:
        load_config(RayTrainConfig, None, overrides)
    assert str(local.value) == str(ray.value)


@pytest.mark.parametrize("overrides, message", [
    (["distributed.stale=downweight", "algorithm.loss.tis_cap=5.0"], "set one of them"),
    (["selfplay.enabled=true", "env.id=classic/TicTacToe-v0"], "runs in `agentrl train` only"),
    (["distributed.policy=torch"], "is now model.engine"),
])
def test_ray_only_refusals_say_how_to_fix(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(RayTrainConfig, None, overrides)


def test_train_keys_load_the_same_in_both_trainers():
    from agentrl.training.config import TrainConfig

    keys = ["algorithm.advantage.estimator=gae", "learner.value_head=true", "learner.vf_coef=0.25",
            "rollout.dynamic_sampling=true", "rollout.max_sampling_rounds=4", "algorithm.overlong.max_tokens=8",
            "algorithm.overlong.cache_tokens=2", ("policies=[{name: a, agents: [player_1]}, {name: b, agents: "
            "[player_2], lr: 0.01}]")]
    local, ray = load_config(TrainConfig, None, keys), load_config(RayTrainConfig, None, keys)
    for field in ("algorithm", "learner", "rollout", "policies"):
        assert getattr(local, field) == getattr(ray, field)


def test_policy_map_is_the_local_trainers():
    from agentrl.distributed.cluster import actor_names
    from agentrl.training.build import resolve_policies, trained_agents

    cfg = load_config(RayTrainConfig, None, ["env.id=classic/TicTacToe-v0",
                                             "policies=[{name: x, agents: [player_1]}, {name: o, agents: [player_2]}]"])
    assert [(p.name, p.agents) for p in resolve_policies(cfg)] == [("x", ("player_1",)), ("o", ("player_2",))]
    assert resolve_policies(load_config(RayTrainConfig, None, []))[0].name == "main"
    assert trained_agents(resolve_policies(load_config(RayTrainConfig, None, []))[0]) is None
    assert actor_names("x", False, 2) == ("learner-x", ["rollout-x-0", "rollout-x-1"])
    assert actor_names("main", True, 1) == ("learner", ["rollout-0"])
    wrong = load_config(RayTrainConfig, None, ["env.id=classic/TicTacToe-v0", "policies=[{name: x, agents: [player_1]}]"])
    with pytest.raises(ConfigError, match="in no policy"):
        resolve_policies(wrong)
