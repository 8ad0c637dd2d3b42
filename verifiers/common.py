"""Reusable reward functions. Each is a plain function whose argument names are injected by the rubric."""

from __future__ import annotations

import re

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def extract_answer(text: str) -> str:
    """The text inside <answer>...</answer> if present, else the whole reply, stripped."""
    m = _ANSWER_TAG.search(text)
    return (m.group(1) if m else text).strip()


def exact_match(text: str, reference: dict) -> float:
    """1.0 when the (tagged) answer equals reference['answer'] after whitespace stripping, else 0.0."""
    return float(extract_answer(text) == str(reference["answer"]).strip())


def numeric_match(text: str, reference: dict) -> float:
    """1.0 when the last number in the (tagged) answer equals reference['answer'] numerically."""
    numbers = _NUMBER.findall(extract_answer(text))
    if not numbers:
        return 0.0
    return float(abs(float(numbers[-1]) - float(reference["answer"])) < 1e-9)


def answer_tag_format(text: str) -> float:
    """Format reward: 1.0 when the reply contains exactly one <answer>...</answer> block."""
    return float(len(_ANSWER_TAG.findall(text)) == 1)


def length_penalty(max_chars: int):
    """A reward in [-1, 0] that grows more negative as the reply exceeds `max_chars`."""

    def penalty(text: str) -> float:
        return -min(1.0, max(0, len(text) - max_chars) / max_chars)

    penalty.__name__ = f"length_penalty_{max_chars}"
    return penalty
