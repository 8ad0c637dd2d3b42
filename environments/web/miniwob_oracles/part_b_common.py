"""Helpers the part_b oracles share: reading the rendered page and writing actions."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentrl.environments.web.miniwob import PageItem

# miniwob.py builds its task list from SOLVERS at import time, so this package imports it only inside functions.

ORDINALS = {"1st": 0, "2nd": 1, "3rd": 2, "4th": 3, "5th": 4, "6th": 5, "7th": 6, "8th": 7, "9th": 8, "10th": 9}


def js(text: str) -> str:
    """A string argument of an action."""
    return json.dumps(text, ensure_ascii=False)


def texts(items: Sequence[PageItem]) -> list[str]:
    """The plain-text lines of the page (no elements), stripped, empty ones dropped."""
    return [it.text.strip() for it in items if it.id is None and it.text.strip()]


def ordinal_index(text: str) -> int | None:
    """The 0-based index of the first "3rd"-style ordinal in `text`."""
    m = re.search(r"\b(\d+)(?:st|nd|rd|th)\b", text)
    return int(m.group(1)) - 1 if m else None


def fill_fields(items: Sequence[PageItem], wanted: Sequence[str]) -> str:
    """Type each wanted text into the text fields in page order (skipping those already right), then submit."""
    from agentrl.environments.web import miniwob  # not at import time: miniwob builds its task list from SOLVERS

    return miniwob.fill_then_submit(items, wanted)


def parts(content: str) -> tuple[str, list[PageItem]]:
    """(instruction, page items) of one observation."""
    from agentrl.environments.web.miniwob import observation_parts, parse_page

    _, instruction, page = observation_parts(content)
    return instruction, parse_page(page)


def quoted_strings(instruction: str) -> list[str]:
    from agentrl.environments.web import miniwob

    return miniwob.quoted_strings(instruction)


def submit_action(items: Sequence[PageItem]) -> str:
    from agentrl.environments.web import miniwob

    return miniwob.submit_action(items)
