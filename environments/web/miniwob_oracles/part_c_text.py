"""Oracles for MiniWoB++ tasks about picking text and list entries: highlight-text(-2) select a paragraph by
dragging over it (the page shows the selection as a 'Selected text: "..."' line), click-scroll-list picks
several names in a multi-select list (select() adds an option there; the list's `state=` shows the picks).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agentrl.environments.web.miniwob_oracles.part_c_common import elements, js, parts, state, submit_action

if TYPE_CHECKING:
    from agentrl.environments.web.miniwob import PageItem

_POSITIONS = {"1st": 0, "2nd": 1, "3rd": 2, "first": 0, "second": 1, "third": 2}


def _selected(items: Sequence[PageItem]) -> str:
    line = next((it.text for it in items if it.id is None and it.text.startswith("Selected text: ")), None)
    return json.loads(line[len("Selected text: ") :]) if line else ""


def _highlight(items: Sequence[PageItem], paragraph: PageItem | None) -> str:
    if paragraph is None or paragraph.box is None:
        return "stop()"
    if re.sub(r"\s", "", _selected(items)) == re.sub(r"\s", "", paragraph.text):
        return submit_action(items)
    x, y, w, h = paragraph.box
    # from just left of the first letter to just right of the last one: the selection covers every line
    return f"drag_xy({x - 1}, {y + 3}, {x + w + 1}, {y + h - 3})"


def _paragraphs(items: Sequence[PageItem], instruction: str) -> list[PageItem]:
    return [
        it
        for it in items
        if it.id is None
        and it.box is not None
        and it.text.strip()
        and not it.text.startswith("Selected text: ")
        and it.text.strip() != instruction.strip()
    ]


def highlight_text(content: str) -> str:
    instruction, items = parts(content)
    found = _paragraphs(items, instruction)
    return _highlight(items, found[0] if len(found) == 1 else None)


def highlight_text_2(content: str) -> str:
    instruction, items = parts(content)
    m = re.search(r"in the (\w+) paragraph", instruction)
    found = _paragraphs(items, instruction)
    index = _POSITIONS.get(m.group(1)) if m else None
    return _highlight(items, found[index] if index is not None and index < len(found) else None)


def click_scroll_list(content: str) -> str:
    instruction, items = parts(content)
    m = re.search(r"^Select (.+) from the scroll list", instruction)
    box = next((it for it in elements(items, "combobox") if it.options), None)
    if m is None or box is None:
        return "stop()"
    wanted = [w for w in m.group(1).split(", ") if w in box.options]
    picked = json.loads(state(box).get("selected", "[]"))
    for name in box.options:
        if (name in wanted) != (name in picked):
            return f"select({box.id}, {js(name)})"
    return submit_action(items)


# words that start the sentences of email-inbox-forward-nl and are not names
_NOT_NAMES = {
    "Find",
    "Locate",
    "Forward",
    "Look",
    "Send",
    "Go",
    "Please",
    "The",
    "Give",
    "I",
    "Navigate",
    "Search",
    "Get",
    "DEST",
    "NAME",
}


def forward_goal(instruction: str) -> tuple[str, str] | None:
    """(sender, recipient) of a free-form "forward the email from NAME to DEST" sentence: the sender is the
    name after "by"/"from", or before "sent"/"wants his", or after "Get"; the recipient is the other name."""
    names = [w for w in re.findall(r"\b[A-Z][a-z]+(?:-[A-Z][a-z]+)?\b", instruction) if w not in _NOT_NAMES]
    if len(set(names)) != 2:
        return None
    m = (
        re.search(r"\b(?:by|from) ([A-Z][\w-]*)", instruction)
        or re.search(r"\b([A-Z][\w-]*) (?:sent|wants his)\b", instruction)
        or re.search(r"\bGet ([A-Z][\w-]*)", instruction)
    )
    if m is None or m.group(1) not in names:
        return None
    sender = m.group(1)
    return sender, next(n for n in names if n != sender)


def email_inbox_forward_nl(content: str) -> str:
    from agentrl.environments.web.miniwob_oracles import part_b_email

    instruction, _ = parts(content)
    found = forward_goal(instruction)
    if found is None:
        return "stop()"
    # the same task as email-inbox-forward, whose oracle reads the template sentence
    canonical = f"Find the email by {found[0]} and forward that email to {found[1]}."
    return part_b_email.solve(content.replace(f"Instruction: {instruction}", f"Instruction: {canonical}", 1))
