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
    ("distributed.learner_gpus=4", "not wired"),
    ("distributed.weight_sync=nccl", "does not call yet"),
])
def test_bad_values_are_explained(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(RayTrainConfig, None, [override])


def test_unknown_keys_list_the_valid_ones():
    with pytest.raises(UnknownKeyError, match="max_policy_lag"):
        load_config(RayTrainConfig, None, ["distributed.max_lag=1"])
