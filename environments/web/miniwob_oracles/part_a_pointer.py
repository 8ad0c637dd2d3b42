"""Part-a oracles for pointer tasks: dragging shapes and boxes, drawing a line, the pie menu."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentrl.environments.web.miniwob import PageItem

from agentrl.environments.web.miniwob_oracles.part_a_common import (
    click_on,
    drag_to,
    inside,
    page_of,
    quoted_strings,
    submit,
)

_SHAPES = ("circle", "rect", "polygon", "ellipse", "path")


_SVG_ORIGIN = (2, 52)  # MiniWoB draws its task area below the 50-pixel query bar


_DONE = {"left": lambda x, y, w, h: x < _SVG_ORIGIN[0] + 12, "up": lambda x, y, w, h: y < _SVG_ORIGIN[1] + 12,
         "right": lambda x, y, w, h: x + w > _SVG_ORIGIN[0] + 145, "down": lambda x, y, w, h: y + h > _SVG_ORIGIN[1] + 110}


_GOAL = {"left": lambda x, y, w, h: (_SVG_ORIGIN[0] + 4, y), "up": lambda x, y, w, h: (x, _SVG_ORIGIN[1] + 3),
         "right": lambda x, y, w, h: (_SVG_ORIGIN[0] + 153 - w, y), "down": lambda x, y, w, h: (x, _SVG_ORIGIN[1] + 118 - h)}


def drag_direction(content: str) -> str:
    instruction, items = page_of(content)
    m = re.search(r"Drag the \w+ (left|right|up|down)", instruction)
    shape = next((it for it in items if it.role in _SHAPES and it.box), None)
    if not m or shape is None:
        return "stop()"
    if _DONE[m.group(1)](*shape.box):
        return submit(items)
    return drag_to(shape.box, *_GOAL[m.group(1)](*shape.box))


def drag_box(content: str) -> str:
    _, items = page_of(content)
    small = next((it for it in items if it.id is not None and it.name == "s" and it.box), None)
    large = next((it for it in items if it.id is not None and it.name == "L" and it.box), None)
    if small is None or large is None:
        return "stop()"
    if inside(small.box, large.box, 1):
        return submit(items)
    lx, ly, lw, lh = large.box
    return drag_to(small.box, lx + (lw - small.box[2]) / 2, ly + (lh - small.box[3]) / 2)


_KIND = {"rectangles": "rect", "circles": "circle", "triangles": "polygon"}


def _sort_into(items: Sequence[PageItem], home: Callable[[PageItem], PageItem | None]) -> str:
    """Drag every shape whose top-left corner is not inside its `home` box there, each to its own slot (slots
    follow page order, which drags do not change), then submit."""
    shapes = [it for it in items if it.role in ("rect", "circle", "polygon") and it.name != "none" and it.box]
    taken: dict[int, int] = {}
    for shape in shapes:
        box = home(shape)
        if box is None:
            continue
        slot = taken[box.id] = taken.get(box.id, -1) + 1
        bx, by, bw, _ = box.box
        if not inside((shape.box[0], shape.box[1], 0, 0), box.box, 2):
            cols = max(1, (bw - 8) // 19)  # the drop lands a couple of pixels off the aim: aim 6 px inside
            return drag_to(shape.box, bx + 6 + 19 * (slot % cols), by + 6 + 20 * (slot // cols))
    return submit(items)


def _containers(items: Sequence[PageItem]) -> list[PageItem]:
    return sorted((it for it in items if it.role == "rect" and it.name == "none" and it.box), key=lambda it: it.box[0])


def drag_shapes(content: str) -> str:
    instruction, items = page_of(content)
    m = re.search(r"Drag all (\w+) into the black box", instruction)
    boxes = _containers(items)
    if not m or not boxes:
        return "stop()"
    return _sort_into(items, lambda s: boxes[0] if s.role == _KIND.get(m.group(1)) else None)


def drag_shapes_2(content: str) -> str:
    instruction, items = page_of(content)
    boxes = _containers(items)
    by_kind = re.search(r"Drag all (rectangles|circles|triangles) into the left box", instruction)
    by_colour = re.search(r"Drag all (\S+) shapes into the left box", instruction)
    if len(boxes) != 2 or not (by_kind or by_colour):
        return "stop()"
    left = (lambda s: s.role == _KIND[by_kind.group(1)]) if by_kind else (lambda s: s.name == by_colour.group(1))
    return _sort_into(items, lambda s: boxes[0] if left(s) else boxes[1])


def draw_line(content: str) -> str:
    instruction, items = page_of(content)
    dot = next((it for it in items if it.role == "circle" and it.center), None)
    m = re.search(r"Draw a (horizontal|vertical) line", instruction)
    if not m or dot is None:
        return "stop()"
    if any(it.role == "path" for it in items):  # the stroke drawn so far
        return submit(items)
    (x, y), half = dot.center, 30  # a 60-pixel stroke centred on the dot: straight, long and through it
    if m.group(1) == "vertical":
        return f"drag_xy({x}, {y - half}, {x}, {y + half})"
    return f"drag_xy({x - half}, {y}, {x + half}, {y})"


def click_pie(content: str) -> str:
    instruction, items = page_of(content)
    target = quoted_strings(instruction)[-1].strip()
    labels = [it for it in items if it.role == "text" and it.box]
    item = next((it for it in labels if it.name == target and it.name != "+"), None)
    spreader = next((it for it in labels if it.name in ("+", "-")), None)  # "-" once the wheel is open
    if item is not None and item.box[2] >= 4:  # the wheel has spread: its labels have their full size
        at = items.index(item)  # each label follows its slice (a filled path) and the slice's outline
        piece = next((it for it in reversed(items[:at]) if it.role == "path" and it.name != "none"), item)
        return click_on(piece)
    if spreader is not None and spreader.name == "-":
        return "hover_xy(1, 1)"  # still spreading: let the animation run (the corner holds nothing)
    return click_on(spreader)
