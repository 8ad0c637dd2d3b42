"""Ranking a group by pairwise comparison: a seeded single-elimination bracket and a round-robin reference.

ArenaRL (Alibaba-NLP, "Scaling RL for Open-Ended Agents via Tournament-based Relative Ranking") replaces
pointwise judge scores, which collapse into a narrow band, with relative ranking inside the group; a seeded
single-elimination bracket ranks N candidates with N - 1 comparisons, close to the O(N^2) round robin.

`compare(a, b)` is the user's judge: > 0 when a is better, < 0 when b is better, 0 for a tie.

Scores (higher is better):
- single elimination: the number of rounds a candidate survived (the champion survives every round).
  Candidates knocked out in the same round share a score. A bye (odd field) counts as a round survived.
  A tie (compare == 0) is settled by seed: the better-seeded candidate (earlier in the seed order) advances.
- round robin: wins + 0.5 * ties over every pair, each pair compared once.

Seed order: the candidates sorted by `seed_scores` (higher first, e.g. a cheap pointwise score) when given,
else a shuffle by `random.Random(seed)`; the bracket then pairs them as 1 v N, 2 v N-1, ... so the best
seeds meet last.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from agentrl.errors import AgentRLError, ConfigError

T = TypeVar("T")


class CompareError(AgentRLError, TypeError):
    """The user's compare(a, b) returned something that is not a finite number."""


def _judge(compare: Callable[[Any, Any], float], a: Any, b: Any) -> float:
    result = compare(a, b)
    if isinstance(result, bool) or not isinstance(result, (int, float)) or not math.isfinite(result):
        raise CompareError(
            f"compare(a, b) must return a finite number (>0: a better, <0: b better, 0: tie), got {result!r}."
        )
    return float(result)


def seed_order(n: int, seed: int = 0, seed_scores: Sequence[float] | None = None) -> list[int]:
    """Indices 0..n-1 in seed order (best seed first)."""
    if seed_scores is not None:
        if len(seed_scores) != n:
            raise ConfigError(f"seed_scores has {len(seed_scores)} entries for {n} candidates; give one each.")
        return sorted(range(n), key=lambda i: (-seed_scores[i], i))
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return order


def bracket_positions(size: int) -> list[int]:
    """Seed numbers (0-based) in bracket order for a power-of-two field: 1 v N, then winners meet best-last.

    For 8: [0, 7, 3, 4, 1, 6, 2, 5], so adjacent pairs are (1v8), (4v5), (2v7), (3v6) in 1-based seeds.
    """
    if size < 1 or size & (size - 1):
        raise ConfigError(f"bracket size must be a power of two, got {size}.")
    slots = [0]
    while len(slots) < size:
        total = 2 * len(slots) - 1
        slots = [s for x in slots for s in (x, total - x)]
    return slots


def single_elimination(items: Sequence[T], compare: Callable[[T, T], float], seed: int = 0,
                       seed_scores: Sequence[float] | None = None) -> tuple[list[float], int]:
    """Scores from a seeded single-elimination bracket, and the number of comparisons made (always N - 1).

    Byes fill the field up to a power of two; the best seeds get them.
    """
    n = len(items)
    if n < 2:
        return [0.0] * n, 0
    order = seed_order(n, seed, seed_scores)
    size = 1 << (n - 1).bit_length()
    # slot -> candidate index (or None for a bye); rank r in the seed order holds seed number r
    slots: list[int | None] = [order[s] if s < n else None for s in bracket_positions(size)]
    seed_rank = {idx: r for r, idx in enumerate(order)}
    scores = [0.0] * n
    comparisons = 0
    round_no = 0
    while len(slots) > 1:
        round_no += 1
        advancing: list[int | None] = []
        for a, b in zip(slots[0::2], slots[1::2]):
            if a is None or b is None:
                winner = a if b is None else b
            else:
                verdict = _judge(compare, items[a], items[b])
                comparisons += 1
                if verdict == 0:
                    verdict = 1.0 if seed_rank[a] < seed_rank[b] else -1.0
                winner = a if verdict > 0 else b
            if winner is not None:
                scores[winner] = float(round_no)
            advancing.append(winner)
        slots = advancing
    return scores, comparisons


def round_robin(items: Sequence[T], compare: Callable[[T, T], float]) -> tuple[list[float], int]:
    """Scores from every pair compared once (wins + 0.5 per tie), and the number of comparisons N(N-1)/2."""
    n = len(items)
    scores = [0.0] * n
    comparisons = 0
    for i in range(n):
        for j in range(i + 1, n):
            verdict = _judge(compare, items[i], items[j])
            comparisons += 1
            if verdict > 0:
                scores[i] += 1.0
            elif verdict < 0:
                scores[j] += 1.0
            else:
                scores[i] += 0.5
                scores[j] += 0.5
    return scores, comparisons
