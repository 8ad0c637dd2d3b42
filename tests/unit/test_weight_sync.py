"""The host weight sync's chunking (agentrl.inference.weight_sync): whole layers per chunk, bounded bytes, every
tensor once; the bytes round trip; the engine-side log filter that turns per-chunk warnings into one."""

from __future__ import annotations

import logging
import warnings

import pytest
import torch

from agentrl.config import load_config
from agentrl.errors import ConfigError
from agentrl.inference.weight_sync import (
    _RELOAD_LOGGERS,
    _ChunkLogFilter,
    chunks,
    group_key,
    pack,
    trim_memory,
    unpack,
)
from agentrl.models import build_tiny_model
from agentrl.train import TrainConfig


def _state(layers: int = 4, width: int = 8, dtype=torch.float32) -> list[tuple[str, torch.Tensor]]:
    """A Llama/Qwen2-shaped state in Hugging Face order: embedding, layers, final norm, (tied) head."""
    embed = torch.randn(32, width, dtype=dtype)
    out = [("model.embed_tokens.weight", embed)]
    for i in range(layers):
        for part in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                     "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"):
            out.append((f"model.layers.{i}.{part}.weight", torch.randn(width, width, dtype=dtype)))
        out.append((f"model.layers.{i}.input_layernorm.weight", torch.ones(width, dtype=dtype)))
    out += [("model.norm.weight", torch.ones(width, dtype=dtype)), ("lm_head.weight", embed)]
    return out


def _nbytes(part) -> int:
    return sum(t.numel() * t.element_size() for _, t in part)


def test_group_keys_keep_a_layer_and_its_experts_together():
    assert group_key("model.layers.3.self_attn.q_proj.weight") == "model.layers.3"
    assert group_key("model.layers.30.mlp.experts.7.w1.weight") == "model.layers.30"
    assert group_key("model.layers.3.self_attn.q_proj.weight") != group_key("model.layers.30.mlp.up_proj.weight")
    assert group_key("model.embed_tokens.weight") == group_key("lm_head.weight") == group_key("model.norm.weight")


@pytest.mark.parametrize("max_bytes", [1, 600, 2_000, 5_000, 10**9])
def test_chunks_carry_whole_layers_within_the_bound_and_every_tensor_once(max_bytes):
    state = _state()
    layer_bytes = _nbytes([(n, t) for n, t in state if group_key(n) == "model.layers.0"])
    parts = chunks(state, max_bytes)
    sent = [name for part in parts for name, _ in part]
    assert sorted(sent) == sorted(n for n, _ in state) and len(sent) == len(set(sent))
    where = {name: k for k, part in enumerate(parts) for name, _ in part}
    for name, _ in state:  # no layer split across two chunks (vLLM fuses q/k/v and gate/up per layer)
        assert where[name] == where[next(n for n, _ in state if group_key(n) == group_key(name))]
    for part in parts:  # within the bound, unless one group alone is larger
        groups = {group_key(n) for n, _ in part}
        assert _nbytes(part) <= max_bytes or len(groups) == 1
    if max_bytes >= 2 * layer_bytes:
        assert all(len({group_key(n) for n, _ in part}) >= 2 for part in parts[:-1])  # chunks fill up
    if max_bytes == 10**9:
        assert len(parts) == 1
    if max_bytes == 1:
        assert len(parts) == 5  # one group each: embedding+norm+head, then the 4 layers


def test_chunk_size_zero_or_none_is_one_message():
    state = _state()
    assert chunks(state, 0) == [state] and chunks(state, None) == [state] and chunks([], 100) == []


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_pack_unpack_round_trip_without_copying_on_the_sender(dtype):
    state = _state(layers=1, dtype=dtype) + [("empty", torch.zeros(0, 3, dtype=dtype))]
    packed = pack(state)
    raw = packed[0][3]
    assert isinstance(raw, memoryview) and raw.nbytes == state[0][1].numel() * state[0][1].element_size()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the read-only buffer warning is silenced in unpack
        back = dict(unpack([(n, d, s, bytes(r)) for n, d, s, r in packed]))  # the receiver gets plain bytes
    for name, tensor in state:
        assert back[name].dtype == dtype and back[name].shape == tensor.shape and torch.equal(back[name], tensor)


def test_the_chunk_filter_drops_layer_warnings_and_collects_missing_weights():
    # The filter is fed records directly: whether a logger call reaches a filter depends on the process's logging
    # configuration (in the full suite, earlier tests' imports and configs had disabled these loggers).
    layerwise, inplace = (logging.getLogger(n) for n in _RELOAD_LOGGERS)
    quiet = _ChunkLogFilter()

    def record(logger, level, msg, *args):
        return logger.makeRecord(logger.name, level, __file__, 0, msg, args, None)

    records = [record(layerwise, logging.WARNING, "%s: Failed to load weights", "RMSNorm"),
               record(inplace, logging.WARNING, "Following weights were not loaded from checkpoint: %s",
                      {"a.weight", "b.weight"}),
               record(inplace, logging.INFO, "Reloading and processing weights took %.2f seconds", 0.01),
               record(layerwise, logging.WARNING, "something else")]
    kept = [r.getMessage() for r in records if quiet.filter(r)]
    assert quiet.not_loaded == {"a.weight", "b.weight"}
    assert kept == ["Reloading and processing weights took 0.01 seconds", "something else"]
    with quiet.installed():
        assert all(quiet in logger.filters for logger in (layerwise, inplace))
    assert not any(quiet in logger.filters for logger in (layerwise, inplace))  # removed again afterwards


def test_the_chunk_setting_is_checked(tmp_path):
    assert load_config(TrainConfig, None, ["model.weight_sync_chunk_mib=0.5"]).model.weight_sync_chunk_mib == 0.5
    with pytest.raises(ConfigError, match="weight_sync_chunk_mib must be >= 0"):
        load_config(TrainConfig, None, ["model.weight_sync_chunk_mib=-1"])


def test_a_real_models_state_chunks_by_its_layers(tmp_path):
    """The tiny Qwen2 model's own state_dict names (what Learner.export_weights sends)."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(build_tiny_model(tmp_path / "m"), dtype=torch.float32)
    state = list(model.state_dict().items())
    parts = chunks(state, 1)
    assert [sorted({group_key(n) for n, _ in p}) for p in parts] == [[""], ["model.layers.0"], ["model.layers.1"]]
    assert {"model.embed_tokens.weight", "lm_head.weight"} <= {n for n, _ in parts[0]}  # the tied pair together


def test_trim_memory_hands_freed_heap_back_on_glibc():
    import platform

    blocks = [bytearray(64 * 1024) for _ in range(2000)]  # ~128 MiB of heap-sized blocks (under mmap's threshold)
    del blocks
    released = trim_memory()
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert released is True
    else:
        assert released is False
