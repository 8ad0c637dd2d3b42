"""KV-cache sizing in bytes (agentrl.inference.sizing / _engine): the arithmetic, the shrink, the error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agentrl.errors import EngineMemoryError
from agentrl.inference import sizing
from agentrl.inference.engine_setup import engine_dtype

GiB = sizing.GiB
QWEN_05B = {"num_hidden_layers": 22, "num_attention_heads": 20, "num_key_value_heads": 4, "hidden_size": 1280,
            "torch_dtype": "float32"}
SMOLLM2 = {"num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3, "hidden_size": 576,
           "torch_dtype": "bfloat16"}


def test_bytes_per_token_counts_k_and_v_of_every_layer_and_kv_head():
    shape = sizing.KVShape.from_config(QWEN_05B, dtype="bfloat16")
    assert (shape.layers, shape.kv_heads, shape.head_dim, shape.element_bytes) == (22, 4, 64, 2)
    assert shape.bytes_per_token == 2 * 22 * 4 * 64 * 2 == 22528
    assert sizing.KVShape.from_config(QWEN_05B).element_bytes == 4  # "auto" = the checkpoint's float32
    assert sizing.KVShape.from_config(QWEN_05B, "bfloat16", kv_cache_dtype="fp8").element_bytes == 1
    assert sizing.KVShape.from_config(SMOLLM2).bytes_per_token == 2 * 30 * 3 * 64 * 2


def test_head_dim_and_kv_heads_default_like_transformers():
    shape = sizing.KVShape.from_config({"num_hidden_layers": 2, "num_attention_heads": 4, "hidden_size": 256})
    assert (shape.kv_heads, shape.head_dim) == (4, 64)
    nested = sizing.KVShape.from_config({"text_config": {**SMOLLM2, "head_dim": 32}})
    assert nested.head_dim == 32


def test_a_config_without_layer_counts_names_the_override():
    with pytest.raises(ValueError, match="kv_cache_memory_bytes"):
        sizing.KVShape.from_config({"hidden_size": 8})


def test_the_full_need_is_every_sequence_at_max_model_len_in_whole_blocks():
    shape = sizing.KVShape.from_config(QWEN_05B, "bfloat16")
    assert sizing.tokens_needed(2000, 256) == 256 * 2048
    plan = sizing.plan_kv_cache(shape, max_model_len=2000, max_num_seqs=256, free_bytes=140 * GiB,
                                weights=1 * GiB, headroom=4 * GiB, device="gpu", share=0.5)
    assert plan.tokens == 256 * 2048 and plan.bytes == plan.full_bytes
    assert 22528 * 256 * 2048 * 1.05 <= plan.bytes < 22528 * 256 * 2048 * 1.05 + (1 << 20)
    assert plan.full_length_sequences == 256


def test_a_cache_that_does_not_fit_shrinks_to_the_share_but_holds_one_full_sequence():
    shape = sizing.KVShape.from_config(SMOLLM2)
    plan = sizing.plan_kv_cache(shape, max_model_len=8192, max_num_seqs=256, free_bytes=20 * GiB,
                                weights=GiB // 4, headroom=GiB, device="host", share=0.15)
    assert plan.bytes <= 0.15 * (20 * GiB - GiB // 4 - GiB) + (1 << 20) < plan.full_bytes
    assert plan.full_length_sequences >= 1 and plan.tokens % sizing.BLOCK_TOKENS == 0
    # Too little for the share but enough in all: one sequence of max_model_len, nothing more.
    tight = sizing.plan_kv_cache(shape, max_model_len=8192, max_num_seqs=256, free_bytes=2 * GiB,
                                 weights=GiB // 4, headroom=GiB, device="host", share=0.15)
    assert tight.tokens == 8192 and tight.full_length_sequences == 1


def test_really_short_memory_names_max_model_len_and_the_number_that_would_fit():
    shape = sizing.KVShape.from_config(SMOLLM2)  # 23040 bytes per token
    with pytest.raises(EngineMemoryError) as e:
        sizing.plan_kv_cache(shape, max_model_len=32768, max_num_seqs=8, free_bytes=int(1.6 * GiB), weights=0,
                             headroom=GiB, device="the host", share=0.15)
    fits = int(int(0.6 * GiB) / 1.05) // 23040 // 128 * 128
    assert f"lower max_model_len to {fits} or less" in str(e.value) and "max_model_len=32768" in str(e.value)
    assert isinstance(e.value, MemoryError)


def test_gpu_auto_dtype_is_bf16_unless_the_checkpoint_is_fp16():
    assert engine_dtype("auto", QWEN_05B, cuda=True) == "bfloat16"
    assert engine_dtype("auto", {**QWEN_05B, "torch_dtype": "float16"}, cuda=True) == "float16"
    assert engine_dtype("auto", QWEN_05B, cuda=False) == "auto"
    assert engine_dtype("float32", QWEN_05B, cuda=True) == "float32"


def test_every_shipped_config_fits_this_machine_by_the_default_plan():
    """The model settings of launch/configs, sized the way VLLMPolicy sizes them here (no engine started)."""
    from agentrl.models import build_tiny_model

    tiny = build_tiny_model()
    configs = sorted((Path(__file__).parents[2] / "launch" / "configs").glob("*.yaml"))
    assert configs
    for path in configs:
        model = (yaml.safe_load(path.read_text()) or {}).get("model", {})
        if model.get("name", "tiny") != "tiny":
            continue  # hub and GGUF models: tests/integration/vllm starts the SmolLM2 one for real
        shape = sizing.KVShape.from_config(sizing.read_config(str(tiny)), model.get("dtype", "auto"))
        plan = sizing.plan_kv_cache(shape, max_model_len=model.get("max_model_len", 1024), max_num_seqs=256,
                                    free_bytes=sizing.host_free_bytes(), weights=sizing.weight_bytes(str(tiny)),
                                    headroom=sizing.engine_headroom("cpu"), device=path.name,
                                    share=sizing.DEFAULT_SHARE["cpu"])
        assert plan.full_length_sequences >= 1, path.name
