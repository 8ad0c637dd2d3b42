"""Oracles for the first half of the MiniWoB++ task list (by name, `ascending-numbers` to `draw-line`).

Each oracle reads one observation (instruction and rendered page) and returns the next action; it keeps no
memory between turns, so every decision comes from what the page shows now (which section is open, which boxes
are ticked, which month the calendar shows). Tasks an honest oracle cannot solve from the observation are in
`EXCLUDED` with the reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentrl.environments.web.miniwob import PageItem

Solver = Callable[[str], str]


def _items(content: str) -> tuple[str, list[PageItem]]:
    # imported here: miniwob.py builds its task list from SOLVERS while it is being imported
    from agentrl.environments.web.miniwob import observation_parts, parse_page

    _, instruction, page = observation_parts(content)
    return instruction, parse_page(page)


def quoted_strings(instruction: str) -> list[str]:
    return re.findall(r'"([^"]*)"', instruction)


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _click(item: PageItem | None) -> str:
    return f"click({item.id})" if item is not None else "stop()"


def _named(items: Sequence[PageItem], name: str, role: str | None = None) -> PageItem | None:
    return next((it for it in items if it.id is not None and it.name == name and role in (None, it.role)), None)


def _submit(items: Sequence[PageItem]) -> str:
    return _click(next((it for it in items if it.id is not None and it.name.lower() == "submit"), None))


def _boxes_then_submit(items: Sequence[PageItem], wanted: Callable[[str], bool]) -> str:
    """Tick exactly the checkboxes whose label `wanted` accepts, then submit."""
    for box in (it for it in items if it.role == "checkbox"):
        if wanted(box.label) != bool(box.checked):
            return f"click({box.id})"
    return _submit(items)


# -- buttons ----------------------------------------------------------------------------------------------------

def click_test(content: str) -> str:
    _, items = _items(content)
    return _click(next((it for it in items if it.role == "button"), None))


def click_test_2(content: str) -> str:
    instruction, items = _items(content)
    m = re.search(r"Click button (\S+?)\.", instruction)
    return _click(_named(items, m.group(1), "button") if m else None)


def click_dialog_2(content: str) -> str:
    instruction, items = _items(content)
    label = quoted_strings(instruction)[0]
    return _click(_named(items, "Close" if label == "x" else label, "button"))


def _minutes(duration: str) -> int:
    h = re.search(r"(\d+)h", duration)
    m = re.search(r"(\d+)m", duration)
    return (int(h.group(1)) * 60 if h else 0) + (int(m.group(1)) if m else 0)


def buy_ticket(content: str) -> str:
    instruction, items = _items(content)
    offers = []  # (price, minutes, button)
    for i, it in enumerate(items):
        price = re.fullmatch(r"Book for \$(\d+)", it.name) if it.role == "button" else None
        if price:
            duration = next(p.text for p in reversed(items[:i]) if p.id is None and re.search(r"\d+h|\d+m", p.text))
            offers.append((int(price.group(1)), _minutes(duration), it))
    key = {"cheapest cost": lambda o: o[0], "most expensive cost": lambda o: -o[0],
           "shortest duration": lambda o: o[1], "longest duration": lambda o: -o[1]}
    want = next((k for k in key if k in instruction), None)
    return _click(min(offers, key=key[want])[2]) if offers and want else "stop()"


def click_widget(content: str) -> str:
    instruction, items = _items(content)
    # the widget kinds of the task as the page renders them: <input type="input"> has no text role
    role = {"radio": "radio", "checkbox": "checkbox", "text": "input", "textarea": "textbox",
            "button": "button"}.get(quoted_strings(instruction)[0])
    return _click(next((it for it in items if it.id is not None and it.role == role), None))


# -- check boxes ------------------------------------------------------------------------------------------------

def click_checkboxes_exact(content: str) -> str:
    instruction, items = _items(content)
    m = re.search(r"^Select (.*) and click Submit", instruction)
    if not m:
        return "stop()"
    wanted = set() if m.group(1) == "nothing" else set(m.group(1).split(", "))
    return _boxes_then_submit(items, lambda label: label in wanted)


# Word groups of the same meaning, as a reader would know them (the task labels boxes with synonyms of the
# words in its instruction).
_SYNONYMS = [
    "big large huge enormous gigantic", "small tiny little mini petite", "red scarlet crimson vermillion",
    "happy cheerful joyful gleeful delighted", "sad unhappy sorrowful miserable tragic",
    "angry mad furious irritated", "evil wicked immoral sinful corrupt depraved",
    "wrong incorrect mistaken erroneous", "real genuine actual", "strange odd peculiar unusual weird",
    "stop cease halt end finish", "scared terrified panicked fearful frightened afraid",
    "quiet calm peaceful serene mild", "old aged archaic", "love like adore favor", "kill murder assassinate",
    "keep retain preserve sustain maintain", "hide conceal camouflage", "hate despise loathe detest dislike",
    "funny humorous amusing comical laughable", "fat fleshy plump chubby", "stupid dumb dull unwise",
    "delicious savory delectable appetizing", "cut slice carve chop", "brave courageous fearless",
    "begin start initiate launch", "answer reply response", "television televisions TV TVs",
    "house home houses homes", "fire flame fires flames", "pig pork swine", "rabbit rabbits bunny bunnies",
    "car cars automobile automobiles vehicle vehicles", "water",
]
_GROUP_OF = {word: i for i, group in enumerate(_SYNONYMS) for word in group.split()}


def click_checkboxes_soft(content: str) -> str:
    instruction, items = _items(content)
    m = re.search(r"^Select words similar to (.*) and click Submit", instruction)
    if not m:
        return "stop()"
    words = [] if m.group(1) == "nothing" else m.group(1).split(", ")
    groups = {_GROUP_OF.get(w, w) for w in words}
    return _boxes_then_submit(items, lambda label: _GROUP_OF.get(label, label) in groups)


# -- text -------------------------------------------------------------------------------------------------------

def copy_paste(content: str) -> str:
    _, items = _items(content)
    boxes = [it for it in items if it.role == "textbox"]
    source = next((b for b in boxes if b.value), None)
    target = next((b for b in boxes if b is not source), None)
    if source is None or target is None:
        return "stop()"
    return f"type({target.id}, {_q(source.value)})" if target.value != source.value else _submit(items)


_ORDINALS = {"1st": 0, "2nd": 1, "3rd": 2}


def copy_paste_2(content: str) -> str:
    instruction, items = _items(content)
    m = re.search(r"from the (\d\w\w) text area", instruction)
    boxes = [it for it in items if it.role == "textbox"]
    if not m or len(boxes) < 4:
        return "stop()"
    source, target = boxes[_ORDINALS[m.group(1)]], boxes[-1]
    return f"type({target.id}, {_q(source.value)})" if target.value != source.value else _submit(items)


SOLVERS: dict[str, Solver] = {
    "buy-ticket": buy_ticket,
    "click-checkboxes-large": click_checkboxes_exact,
    "click-checkboxes-soft": click_checkboxes_soft,
    "click-checkboxes-transfer": click_checkboxes_exact,
    "click-dialog-2": click_dialog_2,
    "click-test": click_test,
    "click-test-2": click_test_2,
    "click-test-transfer": click_test_2,
    "click-widget": click_widget,
    "copy-paste": copy_paste,
    "copy-paste-2": copy_paste_2,
}
"""MiniWoB++ oracles (see the package docstring for the contract)."""

EXCLUDED: dict[str, str] = {}
"""Tasks of this half with no honest oracle from the observation, and why."""


def _collapsible(content: str) -> str:
    _, items = _items(content)
    tabs = [i for i, it in enumerate(items) if it.role == "tab"]
    section = next((i for i in tabs if items[i].name.startswith("Section")), None)
    open_ = section is not None and section + 1 < len(items) and items[section + 1].role != "tab"
    return _submit(items) if open_ else _click(items[section] if section is not None else None)


def _collapsible_2(content: str) -> str:
    instruction, items = _items(content)
    target = quoted_strings(instruction)[-1]
    link = next((it for it in items if it.role == "clickable" and it.name == target), None)
    if link:
        return _click(link)
    tabs = [i for i, it in enumerate(items) if it.role == "tab"]
    opened = next((k for k, i in enumerate(tabs) if i + 1 < len(items) and items[i + 1].role != "tab"), None)
    nxt = 0 if opened is None else opened + 1
    return _click(items[tabs[nxt]]) if nxt < len(tabs) else "stop()"


def _menu_2(content: str) -> str:
    instruction, items = _items(content)
    target = quoted_strings(instruction)[-1]
    item = next((it for it in items if it.role == "menuitem" and it.name == target), None)
    playback = _named(items, "Playback", "menuitem")
    if item is None and playback is not None and target in ("Prev", "Stop", "Play", "Next"):
        item = playback  # the media controls sit in the Playback submenu
    return _click(item or _named(items, "Menu", "button"))


def _menu(content: str) -> str:
    instruction, items = _items(content)
    deepest = None  # click the deepest item of the path on show: a parent opens its submenu, the leaf ends it
    for name in instruction.removeprefix("Select ").split(">"):
        item = next((it for it in items if it.role == "menuitem" and it.name == name), None)
        if item is None:
            break
        deepest = item
    return _click(deepest)


SOLVERS.update({"click-collapsible": _collapsible, "click-collapsible-nodelay": _collapsible,
                "click-collapsible-2": _collapsible_2, "click-collapsible-2-nodelay": _collapsible_2,
                "click-menu-2": _menu_2, "click-menu": _menu})


_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_MONTH_LINE = re.compile(r"^(" + "|".join(_MONTHS) + r") (\d{4})$")


def _month_shown(items: Sequence[PageItem]) -> tuple[int, int] | None:
    """(year, month 1-12) of the calendar on show (a jQuery UI datepicker's title), or None when it is closed."""
    for it in items:
        m = _MONTH_LINE.match(it.text.strip()) if it.id is None else None
        if m:
            return int(m.group(2)), _MONTHS.index(m.group(1)) + 1
    return None


def _pick_day(items: Sequence[PageItem], field: PageItem, mdy: str) -> str | None:
    """The next step of picking the date `mdy` (mm/dd/yyyy) in the datepicker of `field`; None once it holds it."""
    if field.value == mdy:
        return None
    month, day, year = (int(v) for v in mdy.split("/"))
    shown = _month_shown(items)
    if shown is None:
        return _click(field)  # opens the calendar
    if shown != (year, month):
        step = "Prev" if shown > (year, month) else "Next"
        return _click(next((it for it in items if it.id is not None and it.name == step), None))
    return _click(next((it for it in items if it.role == "link" and it.name == str(day)), None))


def choose_date(content: str) -> str:
    instruction, items = _items(content)
    m = re.search(r"Select (\d\d/\d\d/\d{4}) as the date", instruction)
    field = next((it for it in items if it.role == "textbox"), None)
    if not m or field is None:
        return "stop()"
    return _pick_day(items, field, m.group(1)) or _submit(items)


SOLVERS.update({"choose-date": choose_date, "choose-date-easy": choose_date, "choose-date-medium": choose_date,
                "choose-date-nodelay": choose_date})
