"""The FSDP2 learner on CPU: two gloo ranks in spawned processes take the same step as one unsharded learner.

The GPU path (NCCL, bf16 compute) runs the same code with another backend and dtype; bench/learner_gpu.py
measures it on a GPU. The NCCL broadcast into vLLM engines is not exercised here (no vLLM on a GPU machine
that this project's CI or its developers can reach); see docs/learner_gpu.md.
"""

from __future__ import annotations

import datetime
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
from transformers import Qwen2Config, Qwen2ForCausalLM

from agentrl.algorithms import AdvantageConfig, LossConfig
from agentrl.errors import ConfigError
from agentrl.learner import Learner, LearnerConfig
from agentrl.types import Episode, Status, Task, Turn

CONFIG = LearnerConfig(lr=1e-2, micro_batch_size=2, epochs=2)
LOSS = LossConfig(aggregation="token_mean")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny")
    cfg = Qwen2Config(vocab_size=32, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=1, head_dim=32, max_position_embeddings=64)
    torch.manual_seed(0)
    Qwen2ForCausalLM(cfg).save_pretrained(path)
    return path


def episodes() -> list[Episode]:
    """Three groups of unequal sizes and lengths, one failed episode: the ranks get unequal shares (one rank
    runs padding passes) and the token mean must still be the whole batch's."""
    out = []
    for g, size in (("g0", 5), ("g1", 3), ("g2", 2)):  # rank 0: g0 (5 sequences), rank 1: g1 + g2 (4)
        for i in range(size):
            completion = [3 + (i + len(g)) % 7] * (1 + i)
            turn = Turn(agent="a", index=0, messages=["x"], prompt_ids=[1, 2 + i], completion_ids=completion,
                        logprobs=[-1.0] * len(completion))
            out.append(Episode(task=Task(id=g), env_id="x/Y-v0", seed=i, turns=(turn,),
                               reward={"a": float((i * 7 + len(g)) % 5)},
                               status=Status.ENV_ERROR if (g, i) == ("g1", 2) else Status.OK))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(rank: int, world: int, port: int, model_dir: str, out: str, batch: list[Episode]) -> None:
    import torch.distributed as dist

    from agentrl.distributed.gpu import FSDPLearner, ShardingConfig

    torch.set_num_threads(1)  # two ranks on a small shared CPU
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    # a mismatched collective fails after the timeout instead of hanging the test run
    dist.init_process_group("gloo", rank=rank, world_size=world, timeout=datetime.timedelta(seconds=150))
    try:
        learner = FSDPLearner(model_dir, CONFIG, AdvantageConfig("grpo"), LOSS, ShardingConfig(compute_dtype=None))
        learner.keep_grads = True
        metrics = learner.update(batch)
        weights = learner.full_state_dict()  # a collective: every rank gathers
        grads = {n: getattr(p.grad, "full_tensor", lambda g=p.grad: g)() for n, p in learner.model.named_parameters()}
        sharded = any(hasattr(p, "full_tensor") for p in learner.model.parameters())
        if rank == 0:
            torch.save({"weights": weights, "grads": grads, "metrics": metrics, "sharded": sharded}, out)
    finally:
        dist.destroy_process_group()


def sharded_step(model_dir, tmp_path, world: int, batch: list[Episode]) -> dict:
    out = str(tmp_path / f"rank0-{world}.pt")
    mp.spawn(_rank_main, args=(world, _free_port(), str(model_dir), out, batch), nprocs=world, join=True)
    return torch.load(out)


def assert_same_step(got: dict, plain: Learner) -> None:
    """Same gradients (of the last optimizer step) and same weights after the update. A key projection's bias
    is left out of the weight check: its true gradient is 0 (it shifts every attention score of a query alike),
    so Adam turns float rounding into +-lr steps of either sign."""
    grads = {n: p.grad for n, p in plain.model.named_parameters()}
    assert got["grads"].keys() == grads.keys()
    for name, grad in grads.items():
        torch.testing.assert_close(got["grads"][name], grad, atol=1e-6, rtol=1e-4, msg=name)
    for name, tensor in plain.model.state_dict().items():
        if not name.endswith("k_proj.bias"):
            torch.testing.assert_close(got["weights"][name], tensor, atol=2e-5, rtol=1e-4, msg=name)


def test_two_gloo_ranks_take_the_same_step_as_one_unsharded_learner(model_dir, tmp_path):
    batch = episodes()
    plain = Learner(model_dir, CONFIG, AdvantageConfig("grpo"), LOSS)
    plain.keep_grads = True
    before = {n: t.clone() for n, t in plain.model.state_dict().items()}
    plain.update(batch)
    got = sharded_step(model_dir, tmp_path, 2, batch)
    assert_same_step(got, plain)
    moved = max(float((got["weights"][n] - before[n]).abs().max()) for n in before)
    assert moved > 1e-3  # the step changed the weights: the check is not between two untouched models
    assert got["metrics"]["learner/version"] == 1.0
    assert got["sharded"] is True


def test_one_rank_trains_unsharded_and_takes_the_plain_learners_step(model_dir, tmp_path):
    batch = episodes()
    plain = Learner(model_dir, CONFIG, AdvantageConfig("grpo"), LOSS)
    plain.keep_grads = True
    plain.update(batch)
    got = sharded_step(model_dir, tmp_path, 1, batch)
    assert got["sharded"] is False  # ShardingConfig.shard_single_rank defaults to False: no FSDP wrapping
    assert_same_step(got, plain)


def test_a_rank_with_no_groups_still_joins_the_step(model_dir, tmp_path):
    batch = [e for e in episodes() if e.group_id == "g0"]  # one group, two ranks: rank 1 idles
    plain = Learner(model_dir, CONFIG, AdvantageConfig("grpo"), LOSS)
    plain.keep_grads = True
    plain.update(batch)
    got = sharded_step(model_dir, tmp_path, 2, batch)
    assert_same_step(got, plain)


def test_unsupported_settings_are_refused_with_the_fix(model_dir):
    from agentrl.distributed.gpu import ShardingConfig, make_learner

    with pytest.raises(ConfigError, match="compute_dtype"):
        ShardingConfig(compute_dtype="int8")
    with pytest.raises(ConfigError, match="learner_gpus: 0"):
        if torch.cuda.is_available():
            pytest.fail("this check is for machines without CUDA")
        make_learner(model_dir, CONFIG, AdvantageConfig("grpo"), LOSS, learner_gpus=1)
    assert type(make_learner(model_dir, CONFIG, AdvantageConfig("grpo"), LOSS, learner_gpus=0)) is Learner
