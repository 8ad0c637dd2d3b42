"""Oracles for the MiniWoB++ shape grids (click-shape, count-shape): coloured letters, digits and shapes drawn in
an SVG, described as "[large|small] [colour] (letter|digit|shape|item|the exact one)". A shape's colour is its
`state=` fill, its kind its SVG tag or text, its size its box (the page draws large ones twice as big).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agentrl.environments.web.miniwob_oracles.part_c_common import click, elements, parts, rgb, state

if TYPE_CHECKING:
    from agentrl.environments.web.miniwob import PageItem

_COLOURS = {
    (255, 0, 0): "red",
    (0, 128, 0): "green",
    (0, 0, 255): "blue",
    (0, 255, 255): "aqua",
    (0, 0, 0): "black",
    (255, 0, 255): "magenta",
    (255, 255, 0): "yellow",
}
_TAGS = {"rect": "rectangle", "circle": "circle", "polygon": "triangle"}


def _describe(item: PageItem) -> tuple[str, str, str, str] | None:
    """(size, colour, kind, text) of one drawn shape, or None for anything else."""
    colour = _COLOURS.get(rgb(state(item).get("fill", "")) or (-1, -1, -1))
    if colour is None or item.box is None:
        return None
    _, _, w, h = item.box
    if item.role == "text" and len(item.name) == 1:
        kind, text, large = ("digit" if item.name.isdigit() else "letter"), item.name, h >= 17
    elif item.role in _TAGS:
        kind, text, large = "shape", _TAGS[item.role], max(w, h) >= 15
    else:
        return None
    return ("large" if large else "small"), colour, kind, text


def _matches(shape: tuple[str, str, str, str], words: Sequence[str]) -> bool:
    size, colour, kind, text = shape
    rest = list(words)
    want_size = rest.pop(0) if rest and rest[0] in ("large", "small") else size
    want_colour = rest.pop(0) if rest and rest[0] in _COLOURS.values() else colour
    if (want_size, want_colour) != (size, colour):
        return False
    what = " ".join(rest)
    return what in ("item", kind, text)


def _shapes(items: Sequence[PageItem]) -> list[tuple[PageItem, tuple[str, str, str, str]]]:
    return [(it, d) for it in elements(items) if (d := _describe(it)) is not None]


def click_shape(content: str) -> str:
    instruction, items = parts(content)
    m = re.search(r"Click on an? (.+?)\s*$", instruction)
    words = m.group(1).split() if m else []
    return click(next((it for it, d in _shapes(items) if words and _matches(d, words)), None))


def count_shape(content: str) -> str:
    instruction, items = parts(content)
    m = re.search(r"How many (.+?)s are there\?", instruction)
    if m is None:
        return "stop()"
    count = sum(_matches(d, m.group(1).split()) for _, d in _shapes(items))
    return click(next((it for it in elements(items, "button") if it.name == str(count)), None))
