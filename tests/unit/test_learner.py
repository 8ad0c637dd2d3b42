"""The learner on a tiny random Qwen2 model built in the test (no engine needed)."""

import pytest
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

from agentrl.algorithms import AdvantageConfig
from agentrl.errors import ConfigError
from agentrl.learner import Learner, LearnerConfig, build_samples
from agentrl.types import Episode, Status, Task, Turn


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny")
    cfg = Qwen2Config(vocab_size=32, hidden_size=64, intermediate_size=128, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=1, head_dim=32, max_position_embeddings=64)
    torch.manual_seed(0)
    Qwen2ForCausalLM(cfg).save_pretrained(path)
    return path


def turn(prompt, completion, index=0, agent="a"):
    return Turn(agent=agent, index=index, messages=["x"], prompt_ids=prompt, completion_ids=completion,
                logprobs=[-1.0] * len(completion))


def episode(group, reward, turns, status=Status.OK):
    return Episode(task=Task(id=group), env_id="x/Y-v0", seed=0, turns=tuple(turns), reward={"a": reward},
                   status=status)


def test_chained_turns_pack_into_one_sequence_with_exact_masks():
    t0 = turn([1, 2], [3, 4])
    t1 = turn([1, 2, 3, 4, 5], [6], index=1)  # extends t0 exactly
    ep = episode("g", 1.0, [t0, t1])
    (s,), keys = build_samples([ep])
    assert s.ids == (1, 2, 3, 4, 5, 6)
    # targets are ids[1:] = 2 3 4 5 6; sampled tokens 3, 4 (turn 0) and 6 (turn 1)
    assert s.mask == (0.0, 1.0, 1.0, 0.0, 1.0)
    assert s.turn_of == (-1, 0, 0, -1, 1) and keys == [(ep.id, 0), (ep.id, 1)]
    assert s.value_at == ((1, 0), (4, 1))  # the states before each turn's first sampled token


def test_turns_that_do_not_chain_become_separate_sequences():
    t0 = turn([1, 2], [3])
    t1 = turn([1, 9, 3, 5], [6], index=1)  # history was re-rendered
    ep = episode("g", 1.0, [t0, t1])
    assert [s.ids for s in build_samples([ep])[0]] == [(1, 2, 3), (1, 9, 3, 5, 6)]
    failed = episode("g", 1.0, [t0], status=Status.POLICY_ERROR)
    assert build_samples([failed]) == ([], [])


def sequence_logprob(learner, ids):
    x = torch.tensor([ids])
    with torch.no_grad():
        logp = torch.log_softmax(learner.model(input_ids=x).logits[0, :-1], -1)
    return float(logp[torch.arange(len(ids) - 1), x[0, 1:]][-2:].sum())


def test_update_moves_probability_towards_the_better_sample(model_dir):
    learner = Learner(model_dir, LearnerConfig(lr=1e-2), AdvantageConfig("grpo"))
    good, bad = [1, 2, 3, 7, 8], [1, 2, 3, 9, 10]
    before = sequence_logprob(learner, good), sequence_logprob(learner, bad)
    eps = [episode("g", 1.0, [turn([1, 2, 3], [7, 8])]), episode("g", 0.0, [turn([1, 2, 3], [9, 10])]),
           episode("g", 5.0, [turn([1, 2, 3], [4])], status=Status.ENV_ERROR)]
    for _ in range(3):
        m = learner.update(eps)
    after = sequence_logprob(learner, good), sequence_logprob(learner, bad)
    assert after[0] > before[0] + 0.1 and after[1] < before[1] - 0.1
    assert m["learner/episodes_dropped"] == 1.0 and m["learner/version"] == 3.0


def test_save_and_load_restore_weights_optimizer_and_version(model_dir, tmp_path):
    learner = Learner(model_dir, LearnerConfig(lr=1e-2))
    learner.update([episode("g", 1.0, [turn([1, 2], [3])]), episode("g", 0.0, [turn([1, 2], [4])])])
    learner.save(tmp_path / "ckpt")
    other = Learner(model_dir, LearnerConfig(lr=1e-2))
    other.load(tmp_path / "ckpt")
    assert other.version == 1
    for (n, a), (_, b) in zip(learner.export_weights(), other.export_weights()):
        assert torch.equal(a, b), n
    assert other.optimizer.state_dict()["state"].keys() == learner.optimizer.state_dict()["state"].keys()


def test_kl_without_reference_is_a_config_error(model_dir):
    from agentrl.algorithms import LossConfig

    with pytest.raises(ConfigError, match="reference_model"):
        Learner(model_dir, LearnerConfig(), loss=LossConfig(kl_coef=0.1))


@pytest.mark.parametrize("aggregation", ["token_mean", "sequence_mean", "constant"])
def test_micro_batches_accumulate_to_the_full_batch_gradient(model_dir, aggregation):
    from agentrl.algorithms import LossConfig

    eps = [episode("g", float(i), [turn([1, 2], [3 + i] * (1 + i))]) for i in range(4)]
    grads = []
    for micro in (4, 1):
        learner = Learner(model_dir, LearnerConfig(lr=1e-9, micro_batch_size=micro), AdvantageConfig("grpo"),
                          LossConfig(aggregation=aggregation))
        learner.keep_grads = True
        learner.update(eps)
        grads.append(torch.cat([p.grad.flatten() for p in learner.model.parameters() if p.grad is not None]))
    assert torch.allclose(grads[0], grads[1], atol=1e-6, rtol=1e-4)


def test_ppo_value_head_learns_returns_and_is_required_for_gae(model_dir):
    from agentrl.algorithms import LossConfig

    with pytest.raises(ConfigError, match="value_head"):
        Learner(model_dir, LearnerConfig(), AdvantageConfig("gae"))
    learner = Learner(model_dir, LearnerConfig(lr=3e-3, value_head=True), AdvantageConfig("gae"), LossConfig())
    eps = [episode("a", 2.0, [turn([1, 2], [3])]), episode("b", -1.0, [turn([5, 6], [4])])]  # distinct states
    losses = [learner.update(eps)["loss/value"] for _ in range(30)]
    assert losses[-1] < 0.2 * losses[0], losses


def test_token_logprobs_match_autograd_log_softmax_in_value_and_gradient():
    from agentrl.learner import token_logprobs

    torch.manual_seed(0)
    logits = torch.randn(3, 7, 50, dtype=torch.bfloat16, requires_grad=True)
    targets, weights = torch.randint(0, 50, (3, 7)), torch.randn(3, 7)
    ours = token_logprobs(logits, targets)
    (ours * weights).sum().backward()
    ours_grad, logits.grad = logits.grad.clone(), None
    reference = torch.log_softmax(logits.float(), -1).gather(-1, targets[..., None]).squeeze(-1)
    (reference * weights).sum().backward()
    assert ours.dtype == torch.float32
    assert torch.allclose(ours, reference, atol=1e-5)
    assert torch.allclose(ours_grad.float(), logits.grad.float(), atol=1e-2)  # both rounded to bf16 once


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_head_logprobs_match_the_full_logits_in_value_and_gradient(dtype):
    from agentrl.logprobs import head_logprobs

    torch.manual_seed(0)
    hidden = torch.randn(11, 16, requires_grad=True)
    weight = torch.randn(50, 16, requires_grad=True)
    targets, weights = torch.randint(0, 50, (11,)), torch.randn(11)
    ours = head_logprobs(hidden, weight, targets, compute_dtype=dtype, chunk=4)  # 3 chunks, the last one short
    (ours * weights).sum().backward()
    ours_grads, hidden.grad, weight.grad = (hidden.grad.clone(), weight.grad.clone()), None, None
    logits = (hidden.to(dtype) @ weight.to(dtype).T).float()
    reference = torch.log_softmax(logits, -1).gather(-1, targets[:, None]).squeeze(-1)
    (reference * weights).sum().backward()
    tol = 1e-5 if dtype == torch.float32 else 3e-2
    assert ours.dtype == torch.float32 and ours_grads[1].dtype == torch.float32
    assert torch.allclose(ours, reference, atol=tol)
    assert torch.allclose(ours_grads[0], hidden.grad, atol=tol) and torch.allclose(ours_grads[1], weight.grad, atol=tol)


def test_the_fused_head_step_equals_the_logits_step(model_dir):
    batch = [episode("g", 1.0, [turn([1, 2, 3], [4, 5, 6])]), episode("g", 0.0, [turn([1, 2], [7, 8, 9, 10])])]
    plain = Learner(model_dir, LearnerConfig(lr=1e-2, fused_head=False))
    fused = Learner(model_dir, LearnerConfig(lr=1e-2))
    plain.keep_grads = fused.keep_grads = True
    part = plain._collate(build_samples(batch)[0])
    assert torch.allclose(fused._forward(fused.model, part)[0], plain._forward(plain.model, part)[0], atol=1e-5)
    got, want = fused.update(batch), plain.update(batch)
    assert abs(got["loss/loss"] - want["loss/loss"]) < 1e-6
    assert abs(got["learner/grad_norm"] - want["learner/grad_norm"]) < 1e-4 * max(1.0, want["learner/grad_norm"])
    grads = [torch.cat([p.grad.flatten() for p in m.model.parameters() if p.grad is not None]) for m in (fused, plain)]
    assert torch.allclose(grads[0], grads[1], atol=1e-6, rtol=1e-4)


def test_compile_true_refuses_what_it_cannot_compile(model_dir):
    from agentrl.learner import _compiles

    learner = Learner(model_dir, LearnerConfig(compile=False))
    assert not _compiles(learner.model, None, torch.device("cpu"))  # auto: only on a GPU
    learner.model.gradient_checkpointing_enable()
    with pytest.raises(ConfigError, match="learner.compile"):
        _compiles(learner.model, True, torch.device("cpu"))


def test_bf16_compute_by_autocast_keeps_fp32_master_weights_and_tracks_fp32_logprobs(model_dir):
    batch = [episode("g", 1.0, [turn([1, 2, 3], [4, 5, 6])]), episode("g", 0.0, [turn([1, 2, 3], [7, 8, 9])])]
    exact = Learner(model_dir, LearnerConfig(lr=1e-2))
    mixed = Learner(model_dir, LearnerConfig(lr=1e-2, compute_dtype="bfloat16"))
    samples, _ = build_samples(batch)
    part = exact._collate(samples)
    want, got = exact._forward(exact.model, part)[0], mixed._forward(mixed.model, part)[0]
    assert got.dtype == torch.float32 and not torch.equal(got, want)  # computed in bf16, returned as fp32
    assert torch.allclose(got, want, atol=0.05)
    before = {n: t.clone() for n, t in mixed.model.state_dict().items()}
    mixed.update(batch)
    assert all(p.dtype == torch.float32 for p in mixed.model.parameters())
    assert max(float((t - before[n]).abs().max()) for n, t in mixed.model.state_dict().items()) > 1e-3
    with pytest.raises(ConfigError, match="compute_dtype"):
        LearnerConfig(compute_dtype="int8")


def test_update_frees_the_gradients_it_no_longer_needs(model_dir):
    """The gradients are as large as the weights; they are not held through the weight sync and the rollouts."""
    learner = Learner(model_dir, LearnerConfig(lr=1e-3))
    before = [p.detach().clone() for p in learner.model.parameters()]
    metrics = learner.update([episode("g", 1.0, [turn([1, 2], [3, 4])]), episode("g", 0.0, [turn([1, 2], [5, 6])])])
    assert metrics["learner/grad_norm"] > 0 and learner.version == 1
    assert all(p.grad is None for p in learner.model.parameters())
    assert any(not torch.equal(a, p) for a, p in zip(before, learner.model.parameters()))  # the step still landed
