"""Part-a oracles for form tasks: buttons, check boxes, text fields, sections, tabs, menus, date pickers and
the flight search."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentrl.environments.web.miniwob import PageItem

from agentrl.environments.web.miniwob_oracles.part_a_common import (
    click_on,
    js_string,
    named,
    page_of,
    quoted_strings,
    submit,
)


def _boxes_then_submit(items: Sequence[PageItem], wanted: Callable[[str], bool]) -> str:
    """Tick exactly the checkboxes whose label `wanted` accepts, then submit."""
    for box in (it for it in items if it.role == "checkbox"):
        if wanted(box.label) != bool(box.checked):
            return f"click({box.id})"
    return submit(items)


def click_test(content: str) -> str:
    _, items = page_of(content)
    return click_on(next((it for it in items if it.role == "button"), None))


def click_test_2(content: str) -> str:
    instruction, items = page_of(content)
    m = re.search(r"Click button (\S+?)\.", instruction)
    return click_on(named(items, m.group(1), "button") if m else None)


def click_dialog_2(content: str) -> str:
    instruction, items = page_of(content)
    label = quoted_strings(instruction)[0]
    return click_on(named(items, "Close" if label == "x" else label, "button"))


def _minutes(duration: str) -> int:
    h = re.search(r"(\d+)h", duration)
    m = re.search(r"(\d+)m", duration)
    return (int(h.group(1)) * 60 if h else 0) + (int(m.group(1)) if m else 0)


def _offers(items: Sequence[PageItem]) -> list[tuple[int, int, PageItem]]:
    """(price, minutes, its button) of each ticket listed with a duration line and a "Book ... $price" button."""
    offers = []
    for i, it in enumerate(items):
        price = re.fullmatch(r"Book (?:flight )?for \$(\d+)", it.name) if it.role == "button" else None
        if price:
            duration = next(p.text for p in reversed(items[:i]) if p.id is None and re.search(r"\d+h|\d+m", p.text))
            offers.append((int(price.group(1)), _minutes(duration), it))
    return offers


def buy_ticket(content: str) -> str:
    instruction, items = page_of(content)
    offers = _offers(items)
    key = {"cheapest cost": lambda o: o[0], "most expensive cost": lambda o: -o[0],
           "shortest duration": lambda o: o[1], "longest duration": lambda o: -o[1]}
    want = next((k for k in key if k in instruction), None)
    return click_on(min(offers, key=key[want])[2]) if offers and want else "stop()"


def click_widget(content: str) -> str:
    instruction, items = page_of(content)
    # the widget kinds of the task as the page renders them: <input type="input"> has no text role
    role = {"radio": "radio", "checkbox": "checkbox", "text": "input", "textarea": "textbox",
            "button": "button"}.get(quoted_strings(instruction)[0])
    return click_on(next((it for it in items if it.id is not None and it.role == role), None))


def click_checkboxes_exact(content: str) -> str:
    instruction, items = page_of(content)
    m = re.search(r"^Select (.*) and click Submit", instruction)
    if not m:
        return "stop()"
    wanted = set() if m.group(1) == "nothing" else set(m.group(1).split(", "))
    return _boxes_then_submit(items, lambda label: label in wanted)


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
    instruction, items = page_of(content)
    m = re.search(r"^Select words similar to (.*) and click Submit", instruction)
    if not m:
        return "stop()"
    words = [] if m.group(1) == "nothing" else m.group(1).split(", ")
    groups = {_GROUP_OF.get(w, w) for w in words}
    return _boxes_then_submit(items, lambda label: _GROUP_OF.get(label, label) in groups)


def copy_paste(content: str) -> str:
    _, items = page_of(content)
    boxes = [it for it in items if it.role == "textbox"]
    source = next((b for b in boxes if b.value), None)
    target = next((b for b in boxes if b is not source), None)
    if source is None or target is None:
        return "stop()"
    return f"type({target.id}, {js_string(source.value)})" if target.value != source.value else submit(items)


_ORDINALS = {"1st": 0, "2nd": 1, "3rd": 2}


def copy_paste_2(content: str) -> str:
    instruction, items = page_of(content)
    m = re.search(r"from the (\d\w\w) text area", instruction)
    boxes = [it for it in items if it.role == "textbox"]
    if not m or len(boxes) < 4:
        return "stop()"
    source, target = boxes[_ORDINALS[m.group(1)]], boxes[-1]
    return f"type({target.id}, {js_string(source.value)})" if target.value != source.value else submit(items)


def click_collapsible(content: str) -> str:
    _, items = page_of(content)
    tabs = [i for i, it in enumerate(items) if it.role == "tab"]
    section = next((i for i in tabs if items[i].name.startswith("Section")), None)
    open_ = section is not None and section + 1 < len(items) and items[section + 1].role != "tab"
    return submit(items) if open_ else click_on(items[section] if section is not None else None)


def click_collapsible_2(content: str) -> str:
    instruction, items = page_of(content)
    target = quoted_strings(instruction)[-1]
    link = next((it for it in items if it.role == "clickable" and it.name == target), None)
    if link:
        return click_on(link)
    tabs = [i for i, it in enumerate(items) if it.role == "tab"]
    opened = next((k for k, i in enumerate(tabs) if i + 1 < len(items) and items[i + 1].role != "tab"), None)
    nxt = 0 if opened is None else opened + 1
    return click_on(items[tabs[nxt]]) if nxt < len(tabs) else "stop()"


def click_menu(content: str) -> str:
    instruction, items = page_of(content)
    path = instruction.removeprefix("Select ").split(">")
    shown = [next((it for it in items if it.role == "menuitem" and it.name == name), None) for name in path]
    if shown[-1] is not None:
        return click_on(shown[-1])
    # a submenu opens when the pointer rests on its parent (clicking a parent would select it)
    parents = [it for it in shown[:-1] if it is not None]
    return f"hover({parents[-1].id})" if parents else "stop()"


def click_tab_2(content: str) -> str:
    instruction, items = page_of(content)
    target = quoted_strings(instruction)[-1]
    link = next((it for it in items if it.role == "clickable" and it.name == target), None)
    if link:
        return click_on(link)
    tabs = [it for it in items if it.role == "tab"]
    if not tabs or any(t.box is None for t in tabs):
        return "stop()"
    # the open tab is drawn one pixel taller (it merges into its panel): move on to the one after it
    active = max(range(len(tabs)), key=lambda k: (tabs[k].box[3], -k))
    return click_on(tabs[(active + 1) % len(tabs)])


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
        return click_on(field)  # opens the calendar
    if shown != (year, month):
        step = "Prev" if shown > (year, month) else "Next"
        return click_on(next((it for it in items if it.id is not None and it.name == step), None))
    return click_on(next((it for it in items if it.role == "link" and it.name == str(day)), None))


def choose_date(content: str) -> str:
    instruction, items = page_of(content)
    m = re.search(r"Select (\d\d/\d\d/\d{4}) as the date", instruction)
    field = next((it for it in items if it.role == "textbox"), None)
    if not m or field is None:
        return "stop()"
    return _pick_day(items, field, m.group(1)) or submit(items)


def book_flight(content: str) -> str:
    instruction, items = page_of(content)
    m = re.search(r"Book the (cheapest|shortest) one-way flight from: (.*) to: (.*) on (\d\d/\d\d/\d{4})", instruction)
    fields = [it for it in items if it.role == "textbox"]
    if not m or len(fields) < 3:
        return _book_result(items, m.group(1) if m else "")
    for field, text in zip(fields[:2], m.group(2, 3)):
        if text in (field.value or "") and field.value != text:
            continue  # an airport of the list is chosen: "Anvik, AK (AKV)" for "Anvik, AK" or for "AKV"
        if field.value != text:
            return f"type({field.id}, {js_string(text)})"
        # typed: the search accepts only a name from the list, so pick the suggestion that names this one
        options = [it for it in items if it.role in ("menuitem", "clickable") and text in it.name]
        best = next((it for it in options if it.name.endswith(f"({text})") or it.name.startswith(f"{text} (")),
                    options[0] if options else None)
        return click_on(best) if best else f"hover({field.id})"  # hover: let the list's short delay pass
    return _pick_day(items, fields[2], m.group(4)) or click_on(named(items, "Search", "button"))


def _book_result(items: Sequence[PageItem], want: str) -> str:
    offers = _offers(items)
    if not offers or want not in ("cheapest", "shortest"):
        return "stop()"
    return click_on(min(offers, key=lambda o: o[0] if want == "cheapest" else o[1])[2])
