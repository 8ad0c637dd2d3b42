"""Oracles for MiniWoB++ tasks whose answer shows only in element state: the classes that mark a pick, a
colour, a scroll position, a disabled control, a spinner's value (the `state=` text these tasks' observations
carry; `STATE_TASKS`). Like every oracle they keep no memory: each step is derived from the page as it is now.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agentrl.environments.web.miniwob_oracles.part_c_common import (
    classes,
    click,
    elements,
    js,
    parts,
    quoted_strings,
    rgb,
    state,
    submit_action,
)

if TYPE_CHECKING:
    from agentrl.environments.web.miniwob import PageItem

# the CSS colour names click-color uses, as Chromium computes them
_CSS_COLOURS = {
    "red": (255, 0, 0),
    "blue": (0, 0, 255),
    "olive": (128, 128, 0),
    "lime": (0, 255, 0),
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "grey": (128, 128, 128),
    "gray": (128, 128, 128),
    "purple": (128, 0, 128),
    "orange": (255, 165, 0),
    "yellow": (255, 255, 0),
    "cyan": (0, 255, 255),
    "pink": (255, 192, 203),
    "magenta": (255, 0, 255),
}


def _bg(item: PageItem) -> tuple[int, int, int] | None:
    return rgb(state(item).get("bg", ""))


def _button(items: Sequence[PageItem], name: str) -> PageItem | None:
    return next((it for it in elements(items) if it.name.lower() == name.lower()), None)


def click_color(content: str) -> str:
    instruction, items = parts(content)
    m = re.search(r"Click on the (.+?) colored box", instruction)
    want = _CSS_COLOURS.get(m.group(1).strip().lower()) if m else None
    boxes = [it for it in elements(items) if "color" in classes(it) and _bg(it) == want]
    return click(boxes[-1] if boxes else None)  # the last: a query shown as a colour swatch comes first


def _hue(colour: tuple[int, int, int]) -> str:
    r, g, b = colour
    return "red" if r >= max(g, b) else "green" if g >= b else "blue"


def click_shades(content: str) -> str:
    instruction, items = parts(content)
    m = re.search(r"shades of (\w+)", instruction)
    for tile in elements(items):
        colour = _bg(tile)
        if tile.role != "clickable" or colour is None or m is None:
            continue
        if (_hue(colour) == m.group(1)) != ("selected" in classes(tile)):
            return click(tile)
    return submit_action(items)


def odd_or_even(content: str) -> str:
    _, items = parts(content)
    for i, it in enumerate(items):
        if it.id is None or it.name != "Odd":
            continue
        number = next((x.text.strip() for x in items[i + 1 :] if x.id is None and x.text.strip()), "")
        even = next((x for x in items[i + 1 :] if x.id is not None and x.name == "Even"), None)
        if not re.fullmatch(r"-?\d+", number) or even is None:
            return "stop()"
        want = it if int(number) % 2 else even
        if "selected" not in classes(want):
            return click(want)
    return submit_action(items)


def find_greatest(content: str) -> str:
    _, items = parts(content)
    cards = [it for it in elements(items) if "card" in classes(it) and re.fullmatch(r"-?\d+", it.name)]
    if not cards:
        return "stop()"
    best = max(cards, key=lambda it: int(it.name))
    return click(best) if "hidden" in classes(best) else click(_button(items, "Submit"))


def use_spinner(content: str) -> str:
    instruction, items = parts(content)
    m = re.search(r"Select (-?\d+) with the spinner", instruction)
    spinner = next((it for it in elements(items) if "ui-spinner-input" in classes(it)), None)
    if m is None or spinner is None:
        return "stop()"
    now = int(state(spinner).get("value") or spinner.value or 0)
    want = int(m.group(1))
    if now == want:
        return submit_action(items)
    # the arrow buttons are hidden from the accessibility tree; the spinner steps on arrow keys (it ignores typing)
    if "focused" not in state(spinner):
        return click(spinner)
    return f"press({js('ArrowUp' if want > now else 'ArrowDown')})"


def _scroll(item: PageItem) -> tuple[int, int] | None:
    m = re.fullmatch(r"(\d+)/(\d+)", state(item).get("scroll", ""))
    return (int(m.group(1)), int(m.group(2))) if m else None


def scroll_text_2(content: str) -> str:
    instruction, items = parts(content)
    area = next((it for it in elements(items, "textbox") if _scroll(it) is not None), None)
    if area is None:
        return "stop()"
    top, end = _scroll(area)
    if "bottom" in instruction and top < end - 5:
        return f"scroll({area.id}, down)"
    if "top" in instruction.split("textarea to the")[-1] and top > 0:
        return f"scroll({area.id}, up)"
    return submit_action(items)


def sign_agreement(content: str) -> str:
    instruction, items = parts(content)
    target = re.search(r'press "(\w+)"', instruction) or re.search(r"Click the (\w+) button", instruction)
    button = _button(items, target.group(1)) if target else None
    if button is None:
        return "stop()"
    field = next((it for it in elements(items, "textbox") if it.name == "Name"), None)
    if field is not None and "disabled" in state(field) and target.re.pattern.startswith("press"):
        area = next((it for it in elements(items, "textbox") if _scroll(it) is not None), None)
        if area is None:
            return "stop()"
        # the mouse wheel over the text scrolls it a page at a time (scroll(id) moves it by its small height)
        return "scroll(down)" if "hovered" in state(area) else f"hover({area.id})"
    names = quoted_strings(instruction)
    if target.re.pattern.startswith("press") and field is not None and names and field.value != names[0]:
        return f"type({field.id}, {js(names[0])})"
    return click(button)


def visual_addition(content: str) -> str:
    _, items = parts(content)
    blocks = sum(len(re.findall(r"\{addition-block[ }]", it.text)) for it in items if it.id is None)
    field = next(iter(elements(items, "textbox")), None)
    if field is None or blocks == 0:
        return "stop()"
    if field.value != str(blocks):
        return f"type({field.id}, {js(str(blocks))})"
    return submit_action(items)


# number-checkboxes shows the digit to draw as a picture of a 7 x 4 checkbox grid (an image: a model sees it
# in a screenshot); the instruction names the digit in text, and these are the grids the pictures show
_DIGITS = (
    "0110100110011001100110010110",
    "0010011000100010001000100010",
    "0110100110010010010010001111",
    "0110100100010110000110010110",
    "1000101010101111001000100010",
    "1111100010001110000110010110",
    "0110100110001110100110010110",
    "1111100100010010001001000100",
    "0110100110010110100110010110",
    "0110100110010111000110010110",
)


def number_checkboxes(content: str) -> str:
    instruction, items = parts(content)
    digit = quoted_strings(instruction)
    boxes = elements(items, "checkbox")
    if len(boxes) != 28 or not digit or not digit[0].isdigit():
        return "stop()"
    for box, bit in zip(boxes, _DIGITS[int(digit[0])]):
        if box.checked != (bit == "1"):
            return click(box)
    return submit_action(items)


def enter_date(content: str) -> str:
    instruction, items = parts(content)
    m = re.search(r"Enter (\d\d)/(\d\d)/(\d{4})", instruction)
    field = next(iter(elements(items, "textbox")), None)
    if m is None or field is None or field.box is None:
        return "stop()"
    month, day, year = m.groups()
    if field.value == f"{year}-{month}-{day}":
        return submit_action(items)
    if "focused" not in state(field):
        x, y, _, h = field.box
        return f"click_xy({x + 8}, {y + h // 2})"  # the month segment, where typing a full date starts
    return f"type({js(month + day + year)})"


_LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))


def _winner(board: Sequence[int]) -> int:
    for a, b, c in _LINES:
        if board[a] and board[a] == board[b] == board[c]:
            return board[a]
    return 0


def _score(board: list[int], turn: int) -> int:
    """Minimax value for X (+1 a win, 0 a draw, -1 a loss) with `turn` (1 for X, -1 for O) to move."""
    won = _winner(board)
    if won or 0 not in board:
        return won
    values = []
    for i in (i for i, v in enumerate(board) if v == 0):
        board[i] = turn
        values.append(_score(board, -turn))
        board[i] = 0
    return max(values) if turn == 1 else min(values)


def tic_tac_toe(content: str) -> str:
    _, items = parts(content)
    cells = [
        it
        for it in elements(items)
        if it.role == "clickable" and it.box is not None and ({"mark-x", "mark-o"} & classes(it) or not classes(it))
    ][:9]
    if len(cells) != 9:
        return "stop()"
    board = [1 if "mark-x" in classes(c) else -1 if "mark-o" in classes(c) else 0 for c in cells]
    free = [i for i, v in enumerate(board) if v == 0]
    if not free or _winner(board):
        return "stop()"

    def value(i: int) -> tuple[int, int]:
        board[i] = 1
        won = _winner(board) == 1
        v = _score(board, -1)
        board[i] = 0
        return (2 if won else v, 1 if i == 4 else 0)  # an immediate win first, then the centre

    return click(cells[max(free, key=value)])


def _menu(items: Sequence[PageItem]) -> list[tuple[str, set[str], int, PageItem, PageItem]]:
    """order-food's dishes: (name, types shown as icons, quantity ordered, its - control, its + control)."""
    dishes = []
    for i, it in enumerate(items):
        if it.id is None or "remove" not in classes(it):
            continue
        before = [x.text.strip() for x in items[:i] if x.id is None and x.text.strip()]
        icons = []
        while before and before[-1].startswith("{"):
            icons.append(before.pop())
        add = next((x for x in items[i + 1 :] if x.id is not None), None)
        shown = [x.text.strip() for x in items[i + 1 : items.index(add)] if x.id is None] if add else []
        count = int(shown[0]) if shown and shown[0].isdigit() else 0
        types = set(re.findall(r"\{([\w-]+)[ }]", " ".join(icons)))
        if before and add is not None:
            dishes.append((before[-1], types, count, it, add))
    return dishes


def order_food(content: str) -> str:
    instruction, items = parts(content)
    dishes = _menu(items)
    by_name = re.search(r"Order one of each item: (.+)$", instruction)
    by_type = re.search(r"Order (\d+) items that are ([\w-]+)", instruction)
    if by_name:
        wanted = {w.strip() for w in by_name.group(1).split(", ")}
        for name, _, count, less, more in dishes:
            want = 1 if name in wanted else 0
            if count != want:
                return click(more if count < want else less)
    elif by_type:
        total, kind = int(by_type.group(1)), by_type.group(2)
        fits = [d for d in dishes if kind in d[1]]
        for _, types, count, less, _ in dishes:
            if count and kind not in types:
                return click(less)
        have = sum(d[2] for d in fits)
        if not fits:
            return "stop()"
        if have != total:
            return click(fits[0][4] if have < total else next(d[3] for d in fits if d[2]))
    else:
        return "stop()"
    return click(next((it for it in elements(items, "button") if it.name == "Order!"), None))


# the CSS colour names use-colorwheel asks for, as the hex its colour picker holds
_CSS_HEX = {
    "black": "000000",
    "white": "ffffff",
    "aqua": "00ffff",
    "blue": "0000ff",
    "gray": "808080",
    "green": "008000",
    "lime": "00ff00",
    "maroon": "800000",
    "navy": "000080",
    "olive": "808000",
    "purple": "800080",
    "red": "ff0000",
    "silver": "c0c0c0",
    "teal": "008080",
    "yellow": "ffff00",
    "pink": "ffc0cb",
    "magenta": "ff00ff",
    "gold": "ffd700",
    "orange": "ffa500",
}


def _pick_colour(items: Sequence[PageItem], hex_value: str | None) -> str:
    field = next(iter(elements(items, "textbox")), None)  # the colour picker's hex field
    if field is None or hex_value is None:
        return "stop()"
    if (field.value or "").lower() != hex_value:
        return f"type({field.id}, {js(hex_value)})"
    return submit_action(items)


def use_colorwheel(content: str) -> str:
    instruction, items = parts(content)
    m = re.search(r"Select (\w+) with the color picker", instruction)
    return _pick_colour(items, _CSS_HEX.get(m.group(1).lower()) if m else None)


def use_colorwheel_2(content: str) -> str:
    _, items = parts(content)
    swatch = next((m for it in items if it.id is None and (m := re.search(r"\{cc bg=(rgb\([^)]*\))\}", it.text))), None)
    colour = rgb(swatch.group(1)) if swatch else None
    return _pick_colour(items, "".join(f"{v:02x}" for v in colour) if colour else None)
