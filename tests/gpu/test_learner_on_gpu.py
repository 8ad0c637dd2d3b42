"""The learner's GPU defaults (bf16 autocast, logprobs from the hidden state in chunks, torch.compile per decoder
layer) take the same step as the plain learner, within bf16 rounding."""

from __future__ import annotations

import pytest
import torch

from agentrl.algorithms import AdvantageConfig, LossConfig
from agentrl.learner import Learner, LearnerConfig
from agentrl.models import build_tiny_model
from agentrl.types import Episode, Task, Turn

pytestmark = pytest.mark.gpu


def _batch(vocab: int) -> list[Episode]:
    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(8):
        prompt = torch.randint(3, vocab, (40,), generator=g).tolist()
        completion = torch.randint(3, vocab, (24 + i,), generator=g).tolist()  # ragged: padding is exercised
        turn = Turn(agent="a", index=0, messages=["x"], prompt_ids=prompt, completion_ids=completion,
                    logprobs=[-1.0] * len(completion))
        out.append(Episode(task=Task(id=f"g{i // 4}"), env_id="t", seed=i, turns=(turn,), reward={"a": float(i % 3)}))
    return out


def test_the_compiled_fused_learner_takes_the_plain_learners_step(tmp_path):
    path = build_tiny_model(tmp_path / "model", hidden_size=256, num_layers=4, num_heads=4, num_kv_heads=2)
    batch = _batch(200)
    steps = {}
    start = None
    for name, knobs in {"plain": {"fused_head": False, "compile": False}, "default": {}}.items():
        learner = Learner(path, LearnerConfig(lr=1e-3, micro_batch_size=4, **knobs), AdvantageConfig("grpo"),
                          LossConfig(), device="cuda")
        start = start or {k: v.float().cpu() for k, v in learner.model.state_dict().items()}
        metrics = [learner.update(batch) for _ in range(2)]
        steps[name] = (metrics, {k: v.float().cpu() for k, v in learner.model.state_dict().items()})
    (plain, plain_state), (default, default_state) = steps["plain"], steps["default"]
    for a, b in zip(plain, default):
        print(f"loss plain {a['loss/loss']:.6f} default {b['loss/loss']:.6f}; grad norm {a['learner/grad_norm']:.5f} "
              f"{b['learner/grad_norm']:.5f}")
        assert abs(a["loss/loss"] - b["loss/loss"]) < 2e-2 * max(1.0, abs(a["loss/loss"]))
        assert abs(a["learner/grad_norm"] - b["learner/grad_norm"]) < 5e-2 * a["learner/grad_norm"]
    apart = torch.cat([(plain_state[k] - v).abs().flatten() for k, v in default_state.items()]).mean()
    moved = torch.cat([(plain_state[k] - v).abs().flatten() for k, v in start.items()]).mean()
    print(f"mean |default - plain| after 2 steps {apart:.2e}; mean |plain - start| {moved:.2e}")
    assert moved > 1e-4 and apart < 0.25 * moved
