"""Helpers the part_c oracles share: an element's `state=` text, colours, the text lines of a page."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agentrl.environments.web.miniwob_oracles.part_b_common import js, parts, quoted_strings, submit_action, texts

if TYPE_CHECKING:
    from agentrl.environments.web.miniwob import PageItem

__all__ = ["classes", "click", "elements", "js", "parts", "quoted_strings", "rgb", "state", "submit_action", "texts"]


def state(item: PageItem) -> dict[str, str]:
    """An element's state= text as a dict; flags such as "disabled" map to ""."""
    out: dict[str, str] = {}
    for part in item.state.split("; ") if item.state else ():
        key, _, value = part.partition("=")
        out[key] = value
    return out


def classes(item: PageItem) -> set[str]:
    return set(state(item).get("class", "").split())


def rgb(colour: str) -> tuple[int, int, int] | None:
    """(r, g, b) of a computed colour such as "rgb(255, 0, 0)" or "rgba(1, 2, 3, 0.5)"."""
    m = re.match(r"rgba?\((\d+), (\d+), (\d+)", colour)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def elements(items: Sequence[PageItem], role: str | None = None) -> list[PageItem]:
    return [it for it in items if it.id is not None and role in (None, it.role)]


def click(item: PageItem | None) -> str:
    return f"click({item.id})" if item is not None else "stop()"
