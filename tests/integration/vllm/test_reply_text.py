"""A turn's text is decoded once from its token ids (`VLLMPolicy.decode`) instead of by vLLM's incremental
detokenizer: the two must agree on every reply, including replies cut off by max_tokens and, with SmolLM2's
byte-level tokenizer, replies in scripts whose characters span several tokens."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.vllm

PROMPTS = ["Say hello.", "Écris une phrase en français.", "日本語で短い文を書いてください。", "Name three emoji 🎉.",
           "Count: 1, 2,", "Write Python that prints Привет.", "¿Qué hora es?", "Tell me a story"]


async def _engine_texts(policy, max_tokens: int):
    async def one(i, text):
        prompt = policy.chat.first([{"role": "user", "content": text}])
        out = await policy.raw_generate(prompt, max_tokens=max_tokens, temperature=1.0, seed=i)
        return out.outputs[0]

    return await asyncio.gather(*(one(i, t) for i, t in enumerate(PROMPTS * 4)))


def _check(policy, max_tokens):
    assert not policy._text_in_engine  # byte-level tokenizers: turns take the decoded text
    samples = asyncio.run(_engine_texts(policy, max_tokens))
    assert any(len(s.token_ids) == max_tokens for s in samples)  # some replies were cut off mid-way
    mismatched = [(s.text, policy.decode(s.token_ids)) for s in samples if policy.decode(s.token_ids) != s.text]
    assert not mismatched, mismatched[:3]


def test_decoded_text_equals_vllms_on_the_tiny_model(tiny_policy):
    _check(tiny_policy, 8)


def test_decoded_text_equals_vllms_on_smollm2(smollm2_engine):
    _check(smollm2_engine, 24)
