"""Oracles for MiniWoB++ tasks with jQuery UI widgets: sliders (a focused handle steps on arrow and page keys;
the value shows as the text line after it) and the icon menu of click-menu-2.
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
    state,
    submit_action,
)

if TYPE_CHECKING:
    from agentrl.environments.web.miniwob import PageItem


def _sliders(items: Sequence[PageItem]) -> list[tuple[PageItem, int | None]]:
    """(handle, value shown after it) of each slider on the page, in page order."""
    out = []
    for i, it in enumerate(items):
        if it.id is not None and "ui-slider-handle" in classes(it):
            shown = next((x.text.strip() for x in items[i + 1 :] if x.id is None and x.text.strip()), "")
            out.append((it, int(shown) if re.fullmatch(r"-?\d+", shown) else None))
    return out


def _slide(handle: PageItem, now: int | None, want: int) -> str | None:
    """The next action that moves one slider to `want`, or None when it is there."""
    if now is None:
        return "stop()"
    if now == want:
        return None
    if "focused" not in state(handle):
        return click(handle)  # a click on the handle focuses it without moving it
    up = want > now
    if abs(want - now) >= 10:  # a page key moves a fifth of the range
        return f"press({js('PageUp' if up else 'PageDown')})"
    return f"press({js('ArrowUp' if up else 'ArrowDown')})"


def use_slider(content: str) -> str:
    instruction, items = parts(content)
    m = re.search(r"Select (-?\d+) with the slider", instruction)
    sliders = _sliders(items)
    if m is None or len(sliders) != 1:
        return "stop()"
    return _slide(*sliders[0], int(m.group(1))) or submit_action(items)


def use_slider_2(content: str) -> str:
    instruction, items = parts(content)
    m = re.search(r"combination \[(-?\d+),(-?\d+),(-?\d+)\]", instruction)
    sliders = _sliders(items)
    if m is None or len(sliders) != 3:
        return "stop()"
    for (handle, now), want in zip(sliders, m.groups()):
        step = _slide(handle, now, int(want))
        if step is not None:
            return step
    return submit_action(items)


def form_sequence(content: str) -> str:
    instruction, items = parts(content)
    m = re.search(r"Select (-?\d+) with the slider, click the (\d)\w\w checkbox", instruction)
    sliders = _sliders(items)
    if m is None or len(sliders) != 1:
        return "stop()"
    step = _slide(*sliders[0], int(m.group(1)))
    if step is not None:
        return step
    for i, box in enumerate(elements(items, "checkbox")):
        if box.checked != (i == int(m.group(2)) - 1):
            return click(box)
    return submit_action(items)


_PLAYBACK = {"Prev", "Stop", "Play", "Next"}  # click-menu-2's submenu (its items show once Playback is hovered)


def click_menu_2(content: str) -> str:
    instruction, items = parts(content)
    labelled = re.search(r'item labeled "([^"]+)"', instruction)
    icon = next(
        (m.group(1) for it in items if it.id is None and (m := re.search(r"\{ui-icon (ui-icon-[\w-]+)", it.text))),
        None,
    )
    entries = [it for it in elements(items, "menuitem")]
    if not entries:
        return click(next((it for it in elements(items, "button") if it.name == "Menu"), None))
    for it in entries:
        if (labelled and it.name == labelled.group(1)) or (icon and icon in state(it).get("marks", "")):
            return click(it)
    # not on show: it is in the Playback submenu (named), or an icon the open items do not carry
    playback = next((it for it in entries if it.name == "Playback"), None)
    return f"hover({playback.id})" if playback else "stop()"
