"""Helpers the part-a oracles share: reading an observation, naming elements, writing actions."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentrl.environments.web.miniwob import PageItem


def page_of(content: str) -> tuple[str, list[PageItem]]:
    # imported here: miniwob.py builds its task list from SOLVERS while it is being imported
    from agentrl.environments.web.miniwob import observation_parts, parse_page

    _, instruction, page = observation_parts(content)
    return instruction, parse_page(page)


def quoted_strings(instruction: str) -> list[str]:
    return re.findall(r'"([^"]*)"', instruction)


def js_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def click_on(item: PageItem | None) -> str:
    return f"click({item.id})" if item is not None else "stop()"


def named(items: Sequence[PageItem], name: str, role: str | None = None) -> PageItem | None:
    return next((it for it in items if it.id is not None and it.name == name and role in (None, it.role)), None)


def submit(items: Sequence[PageItem]) -> str:
    return click_on(next((it for it in items if it.id is not None and it.name.lower() == "submit"), None))


def inside(inner: tuple[int, int, int, int], outer: tuple[int, int, int, int], margin: int = 0) -> bool:
    ix, iy, iw, ih = inner
    ox, oy, ow, oh = outer
    return ix >= ox + margin and iy >= oy + margin and ix + iw <= ox + ow - margin and iy + ih <= oy + oh - margin


def drag_to(box: tuple[int, int, int, int], x: float, y: float) -> str:
    """Drag the thing in `box` by its middle so that its top-left corner lands on (x, y)."""
    bx, by, w, h = box
    return f"drag_xy({bx + w / 2:g}, {by + h / 2:g}, {x + w / 2:g}, {y + h / 2:g})"
