"""Checklist rewards (CM2): each turn's intended behaviour as fine-grained binary items with evidence.

"Sparse assignment, dense criteria": every item is assigned to one turn of an agent (or to any turn), is
checked by a small function (or an LLM judge) that returns pass/fail plus the evidence it relied on, and the
reward is the fraction of items met.

    items = [Item("asks_date", lambda text: "date" in text, turn=0),
             Item("confirms", lambda text: ("confirm" in text, text[:80]))]
    rubric = Rubric(turn={"checklist": Checklist(items).turn_reward},
                    outcome={"checklist_all": Checklist(items).outcome_reward})
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from agentrl.errors import RewardError
from agentrl.rubric import Score, reward
from agentrl.types import Turn


@dataclasses.dataclass(frozen=True)
class Item:
    """One binary criterion. `check` takes injected turn arguments (text, turn, info, reference, ...) and
    returns a bool or ``(bool, evidence)``. `turn` is the agent's turn number (0-based) it is assigned to,
    or None for "met at any turn"."""

    name: str
    check: Callable[..., Any]
    turn: int | None = None


class Checklist:
    def __init__(self, items: Sequence[Item]):
        if not items:
            raise RewardError("a Checklist needs at least one Item.")
        self.items = tuple(items)
        self._terms = {it.name: reward(it.check, name=it.name) for it in self.items}

    async def _check(self, item: Item, available: dict[str, Any]) -> tuple[bool, Any]:
        term = self._terms[item.name]
        result = term.fn(**{a: available[a] for a in term.args})
        if inspect.isawaitable(result):
            result = await result
        passed, evidence = result if isinstance(result, tuple) else (result, None)
        if not isinstance(passed, bool):
            raise RewardError(f"checklist item {item.name!r} returned {passed!r}; return a bool or (bool, evidence).")
        return passed, evidence

    async def turn_reward(self, turn: Turn, turns: list[Turn], text: str, info: dict, reference: Any) -> Score:
        """Fraction of the items assigned to this turn that it meets; None when no item is assigned to it."""
        position = [t.index for t in turns].index(turn.index)
        mine = [it for it in self.items if it.turn == position]
        if not mine:
            return Score(None)
        available = {"turn": turn, "text": text, "info": info, "reference": reference}
        results = {it.name: await self._check(it, available) for it in mine}
        return Score(sum(p for p, _ in results.values()) / len(mine), {k: e for k, (_, e) in results.items()})

    async def outcome_reward(self, turns: list[Turn], reference: Any) -> Score:
        """Fraction of all items met: at their assigned turn, or at any turn for unassigned items."""
        met: dict[str, Any] = {}
        for position, turn in enumerate(turns):
            available = {"turn": turn, "text": turn.text, "info": dict(turn.info), "reference": reference}
            for it in self.items:
                if it.name in met or it.turn not in (None, position):
                    continue
                passed, evidence = await self._check(it, available)
                if passed:
                    met[it.name] = evidence
        return Score(len(met) / len(self.items), {"met": sorted(met), "evidence": met})
