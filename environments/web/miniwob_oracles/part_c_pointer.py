"""Oracles for MiniWoB++ tasks of clicking in order and dragging: what was done already shows on the page (a
focused button, the squares left over, the order of a list's items), so each step follows from the page now.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agentrl.environments.web.miniwob_oracles.part_c_common import classes, click, elements, parts, state, submit_action

if TYPE_CHECKING:
    from agentrl.environments.web.miniwob import PageItem


def click_button_sequence(content: str) -> str:
    _, items = parts(content)
    one = next((it for it in elements(items, "button") if it.name == "ONE"), None)
    two = next((it for it in elements(items, "button") if it.name == "TWO"), None)
    if one is None or two is None:
        return "stop()"
    return click(two if "focused" in state(one) else one)  # a clicked button keeps the focus


def ascending_numbers(content: str) -> str:
    _, items = parts(content)
    # the numbers turn into blank squares once 1 is clicked; the squares keep the numbers' order on the page,
    # and each one clicked (in order) disappears, so the first square left is the next number
    one = next((it for it in elements(items, "text") if it.name == "1"), None)
    if one is not None:
        return click(one)
    return click(next(iter(elements(items, "rect")), None))


def _list_items(items: Sequence[PageItem], container: PageItem | None) -> list[PageItem]:
    """The text lines right after a sortable list's element (its items, without the drag-handle icons)."""
    if container is None:
        return []
    rows = []
    for it in items[items.index(container) + 1 :]:
        if it.id is not None:
            break
        if it.box is not None and it.text.strip() and not it.text.startswith("{"):
            rows.append(it)
    return rows


def _drag_onto(item: PageItem, onto: PageItem) -> str:
    (x1, y1), (x2, y2) = item.center, onto.center
    # a sortable moves the item past another once the pointer is beyond that one's middle: go 8 px further
    x2 += 8 if x2 > x1 + 4 else -8 if x2 < x1 - 4 else 0
    y2 += 8 if y2 > y1 + 4 else -8 if y2 < y1 - 4 else 0
    return f"drag_xy({x1}, {y1}, {x2}, {y2})"


def drag_items(content: str) -> str:
    instruction, items = parts(content)
    m = re.search(
        r"^Drag (.+?) (to the top|to the bottom|down by one position|up by one position|"
        r"to the (\d+)\w\w position)\.",
        instruction,
    )
    rows = _list_items(items, next((it for it in elements(items) if "ui-sortable" in classes(it)), None))
    names = [it.text.strip() for it in rows]
    if m is None or m.group(1) not in names:
        return "stop()"
    at = names.index(m.group(1))
    where = m.group(2)
    to = {
        "to the top": 0,
        "to the bottom": len(rows) - 1,
        "down by one position": at + 1,
        "up by one position": at - 1,
    }.get(where, int(m.group(3) or 0) - 1)
    return _drag_onto(rows[at], rows[to]) if 0 <= to < len(rows) else "stop()"


_GRID = {
    "top left": 0,
    "top center": 1,
    "top right": 2,
    "center left": 3,
    "center": 4,
    "center right": 5,
    "bottom left": 6,
    "bottom center": 7,
    "bottom right": 8,
}
_STEPS = {"up by one": -3, "down by one": 3, "left by one": -1, "right by one": 1}


def drag_items_grid(content: str) -> str:
    instruction, items = parts(content)
    m = re.search(r"^Drag (.+?) (?:to the )?(" + "|".join([*_GRID, *_STEPS]) + r")\.$", instruction)
    rows = _list_items(items, next((it for it in elements(items) if "ui-sortable" in classes(it)), None))
    names = [it.text.strip() for it in rows]
    if m is None or m.group(1) not in names or len(rows) != 9:
        return "stop()"
    at = names.index(m.group(1))
    to = _GRID[m.group(2)] if m.group(2) in _GRID else at + _STEPS[m.group(2)]
    if not 0 <= to < 9 or to == at:
        return "stop()"
    # a floating sortable moves the item once the pointer is over the target cell's half that the pointer moves
    # towards: aim at the cell's left part when going back or moving leftwards, else at its right part. A cell
    # is a 40 px square from 3 px above and left of its text line; going down to a lower row, the pointer must
    # also end in the cell's lower half (seed 6's Carol, top left to center right, lands in the wrong cell at
    # the line's middle once the drag's moves take page time, as the official env's do): 24 px under the line's
    # top is 7 px past the cell's middle (any end from 18 px on works there)
    (x1, y1), target = rows[at].center, rows[to]
    x, y = target.box[0], target.box[1] + 24 if to // 3 > at // 3 else target.center[1]
    x2 = x + 4 if to < at or x + 36 < x1 else x + 36
    return f"drag_xy({x1}, {y1}, {x2}, {y})"


def drag_sort_numbers(content: str) -> str:
    _, items = parts(content)
    rows = _list_items(items, next((it for it in elements(items) if "ui-sortable" in classes(it)), None))
    if not rows or not all(re.fullmatch(r"-?\d+", it.text.strip()) for it in rows):
        return "stop()"
    values = [int(it.text) for it in rows]
    for i, want in enumerate(sorted(values)):
        if values[i] != want:  # bring the smallest number not yet in place up to here
            return _drag_onto(rows[values.index(want, i)], rows[i])
    return submit_action(items)
