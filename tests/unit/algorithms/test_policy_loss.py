"""policy_loss on hand-computed examples: clipping, GSPO, aggregation, KL, entropy, truncated IS."""

import math

import pytest
import torch

from agentrl.algorithms import LossConfig, aggregate, kl_penalty, policy_loss
from agentrl.errors import ConfigError

LN2 = math.log(2.0)


def _t(rows):
    return torch.tensor(rows, dtype=torch.float32)


def _inputs(ratios, advs, mask):
    new = torch.log(_t(ratios)).requires_grad_(True)
    return new, torch.zeros_like(new), _t(advs), _t(mask)


def test_symmetric_clip_hand_computed():
    new, old, adv, mask = _inputs([[1.5, 0.5, 1.0]], [[1.0, -1.0, 5.0]], [[1, 1, 0]])
    loss, m = policy_loss(new, old, adv, mask, LossConfig(clip_low=0.2, clip_high=0.2))
    # token 0: -min(1.5, 1.2) = -1.2; token 1: -min(-0.5, -0.8) = 0.8; token 2 masked
    assert loss.item() == pytest.approx(-0.2)
    assert m["clip_frac"] == 1.0 and m["clip_frac_high"] == 0.5 and m["clip_frac_low"] == 0.5
    assert m["ratio_mean"] == pytest.approx(1.0) and m["ratio_max"] == pytest.approx(1.5)
    assert m["tokens"] == 2.0
    loss.backward()
    assert new.grad.tolist() == [[0.0, 0.0, 0.0]]  # both tokens clipped: no gradient


def test_clip_higher_dapo():
    new, old, adv, mask = _inputs([[1.5, 0.5]], [[1.0, -1.0]], [[1, 1]])
    loss, _ = policy_loss(new, old, adv, mask, LossConfig(clip_low=0.2, clip_high=0.28))
    assert loss.item() == pytest.approx((-1.28 + 0.8) / 2)


def test_unclipped_gradient_is_minus_ratio_times_advantage():
    new, old, adv, mask = _inputs([[1.1, 0.9]], [[2.0, -1.0]], [[1, 1]])
    loss, m = policy_loss(new, old, adv, mask, LossConfig())
    assert loss.item() == pytest.approx((-2.2 + 0.9) / 2)
    assert m["clip_frac"] == 0.0
    loss.backward()
    assert new.grad.tolist()[0] == pytest.approx([-1.1 * 2.0 / 2, 0.9 / 2])


def test_no_clip():
    new, old, adv, mask = _inputs([[3.0]], [[1.0]], [[1]])
    loss, _ = policy_loss(new, old, adv, mask, LossConfig(clip_low=None, clip_high=None))
    assert loss.item() == pytest.approx(-3.0)


def test_approx_kl_is_k3_of_old_to_new():
    new, old, adv, mask = _inputs([[2.0]], [[0.0]], [[1]])
    _, m = policy_loss(new, old, adv, mask, LossConfig())
    assert m["approx_kl"] == pytest.approx(2.0 - 1.0 - LN2)


def test_aggregations():
    values = _t([[1, 2, 3], [4, 0, 0]])
    mask = _t([[1, 1, 1], [1, 0, 0]])
    assert float(aggregate(values, mask, LossConfig(aggregation="token_mean"))) == pytest.approx(2.5)
    assert float(aggregate(values, mask, LossConfig(aggregation="sequence_mean"))) == pytest.approx(3.0)
    assert float(aggregate(values, mask, LossConfig(aggregation="constant"))) == pytest.approx(10 / 6)
    assert float(aggregate(values, mask, LossConfig(aggregation="constant", constant_normaliser=5))) == 1.0


def test_sequence_mean_skips_empty_rows():
    values = _t([[2, 4], [9, 9]])
    mask = _t([[1, 1], [0, 0]])
    assert float(aggregate(values, mask, LossConfig(aggregation="sequence_mean"))) == pytest.approx(3.0)


def test_gspo_sequence_ratio_and_gradient():
    new = torch.tensor([[LN2, 0.0, 5.0]], requires_grad=True)
    old = torch.zeros(1, 3)
    adv = _t([[1.0, 1.0, 1.0]])
    mask = _t([[1, 1, 0]])
    cfg = LossConfig(ratio_level="sequence", clip_low=None, clip_high=None, aggregation="sequence_mean")
    loss, m = policy_loss(new, old, adv, mask, cfg)
    s = math.sqrt(2.0)  # exp(mean(ln2, 0))
    assert loss.item() == pytest.approx(-s)
    assert m["ratio_mean"] == pytest.approx(s)
    loss.backward()
    # d(-s)/d new_t = -s / |y| for each completion token
    assert new.grad.tolist()[0] == pytest.approx([-s / 2, -s / 2, 0.0])


def test_gspo_clips_whole_sequence():
    new = torch.tensor([[LN2, 0.0]], requires_grad=True)
    cfg = LossConfig(ratio_level="sequence", clip_low=3e-4, clip_high=4e-4)
    loss, m = policy_loss(new, torch.zeros(1, 2), _t([[1.0, 1.0]]), _t([[1, 1]]), cfg)
    assert loss.item() == pytest.approx(-(1 + 4e-4))
    assert m["clip_frac"] == 1.0


def test_kl_estimators_hand_computed():
    new, ref = _t([[0.0]]), _t([[-LN2]])
    assert float(kl_penalty(new, ref, "k1")) == pytest.approx(LN2)
    assert float(kl_penalty(new, ref, "k2")) == pytest.approx(0.5 * LN2 ** 2)
    assert float(kl_penalty(new, ref, "k3")) == pytest.approx(0.5 + LN2 - 1.0)
    assert float(kl_penalty(ref, ref, "k3")) == 0.0


def test_kl_penalty_added_to_loss():
    new, old, adv, mask = _inputs([[1.0]], [[0.0]], [[1]])
    ref = _t([[-LN2]])
    loss, m = policy_loss(new, old, adv, mask, LossConfig(kl_coef=0.1, kl_estimator="k3"), ref_logprobs=ref)
    assert m["kl_ref"] == pytest.approx(0.5 + LN2 - 1.0)
    assert loss.item() == pytest.approx(0.1 * (0.5 + LN2 - 1.0))


def test_entropy_bonus():
    new, old, adv, mask = _inputs([[1.0, 1.0]], [[0.0, 0.0]], [[1, 1]])
    loss, m = policy_loss(new, old, adv, mask, LossConfig(entropy_coef=0.01), entropy=_t([[2.0, 4.0]]))
    assert m["entropy"] == pytest.approx(3.0)
    assert loss.item() == pytest.approx(-0.03)


def test_truncated_importance_sampling_caps_the_weight():
    new, old, adv, mask = _inputs([[1.0, 1.0]], [[1.0, 1.0]], [[1, 1]])
    rollout = _t([[-math.log(3.0), -math.log(1.5)]])  # old/rollout ratios 3 and 1.5
    loss, m = policy_loss(new, old, adv, mask, LossConfig(tis_cap=2.0), rollout_logprobs=rollout)
    assert loss.item() == pytest.approx(-(2.0 + 1.5) / 2)
    assert m["tis_weight_mean"] == pytest.approx(1.75)
    assert m["tis_capped_frac"] == 0.5


def test_all_masked_batch_gives_zero_loss_that_backprops():
    new, old, adv, mask = _inputs([[1.5]], [[1.0]], [[0]])
    loss, m = policy_loss(new, old, adv, mask)
    assert loss.item() == 0.0
    loss.backward()
    assert new.grad.tolist() == [[0.0]]
    assert m["tokens"] == 0.0


def test_bad_inputs_fail_clearly():
    new, old, adv, mask = _inputs([[1.0, 1.0]], [[0.0, 0.0]], [[1, 1]])
    with pytest.raises(ConfigError, match="shape"):
        policy_loss(new, old[:, :1], adv, mask)
    with pytest.raises(ConfigError, match="ref_logprobs"):
        policy_loss(new, old, adv, mask, LossConfig(kl_coef=0.1))
    with pytest.raises(ConfigError, match="entropy"):
        policy_loss(new, old, adv, mask, LossConfig(entropy_coef=0.1))
    with pytest.raises(ConfigError, match="rollout_logprobs"):
        policy_loss(new, old, adv, mask, LossConfig(tis_cap=2.0))
    with pytest.raises(ConfigError, match="aggregation"):
        LossConfig(aggregation="mean")
    with pytest.raises(ConfigError, match="clip_low"):
        LossConfig(clip_low=1.0)
