"""The scripted side of web/MiniWoB-v0: reading a rendered observation back into items (`parse_page`,
`observation_parts`), small helpers the oracles share, and `solve`/`scripted_policy`, which play every task in
`miniwob.TASKS` from the latest observation alone (the basic twelve here, the rest through
`miniwob_oracles.SOLVERS`). `miniwob` re-exports these names, so `from agentrl.environments.web.miniwob import
PageItem` keeps working."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from agentrl.policy_contract import ScriptedPolicy
from agentrl.types import Message


@dataclasses.dataclass(frozen=True)
class PageItem:
    """One line of a rendered page: an element (id set) or plain text (id None). `text` is the line without
    its ``box=[...]`` suffix; `box` is (x, y, width, height) in viewport pixels, the frame of click_xy(x, y)."""

    text: str
    id: int | None = None
    role: str = ""
    name: str = ""
    value: str | None = None
    checked: bool | None = None
    label: str = ""  # for an element: its name, or the text line next to it when the name is empty or generic
    box: tuple[int, int, int, int] | None = None
    options: tuple[str, ...] = ()
    state: str = ""  # the element's state= text, on tasks in STATE_TASKS ("class=...; disabled; ...")

    @property
    def center(self) -> tuple[int, int] | None:
        """The middle of the box (where click_xy would hit this item), or None without a box."""
        if self.box is None:
            return None
        x, y, w, h = self.box
        return x + w // 2, y + h // 2


_ELEMENT_LINE = re.compile(r'^\[(\d+)\] (\S+) ("(?:[^"\\]|\\.)*")(?: value=("(?:[^"\\]|\\.)*"))?'
                           r'(?: options=(\[(?:"(?:[^"\\]|\\.)*"(?:, )?)*\]))?(?: (checked|unchecked))?'
                           r'(?: state=("(?:[^"\\]|\\.)*"))?(?: box=\[(-?\d+),(-?\d+),(\d+),(\d+)\])?$')
_TEXT_BOX = re.compile(r' box=\[(-?\d+),(-?\d+),(\d+),(\d+)\]$')


def parse_page(text: str) -> list[PageItem]:
    """Read the page part of an observation back into items (the inverse of the browser's rendering)."""
    import json

    items: list[PageItem] = []
    for line in text.splitlines():
        m = _ELEMENT_LINE.match(line)
        if not m:
            tb = _TEXT_BOX.search(line)
            items.append(PageItem(line[:tb.start()], box=tuple(int(v) for v in tb.groups())) if tb else PageItem(line))
            continue
        value = json.loads(m.group(4)) if m.group(4) else None
        checked = None if m.group(6) is None else m.group(6) == "checked"
        state = json.loads(m.group(7)) if m.group(7) else ""
        box = tuple(int(v) for v in m.group(8, 9, 10, 11)) if m.group(8) is not None else None
        options = tuple(json.loads(m.group(5))) if m.group(5) else ()
        shown = line[:line.rindex(" box=[")] if box is not None else line
        items.append(PageItem(shown, int(m.group(1)), m.group(2), json.loads(m.group(3)), value, checked,
                              box=box, options=options, state=state))
    return [dataclasses.replace(it, label=_label(items, i)) if it.id is not None else it
            for i, it in enumerate(items)]


def _label(items: Sequence[PageItem], i: int) -> str:
    """A control's visible label: its name, or for a box wrapped in a <label> the text right after it, or
    for a text field the text right before it."""
    it = items[i]
    generic = {"", it.role, "radio", "checkbox", "on"}
    if it.name not in generic:
        return it.name
    neighbour = {"checkbox": i + 1, "radio": i + 1, "textbox": i - 1}.get(it.role, -1)
    if 0 <= neighbour < len(items) and items[neighbour].id is None:
        return items[neighbour].text.strip()
    return it.name


def observation_parts(content: str) -> tuple[str, str, str]:
    """(task name, instruction, page text) of one observation rendered by `MiniWoBEnv`."""
    task = re.search(r"^MiniWoB\+\+ task: (\S+)$", content, re.MULTILINE)
    instruction = re.search(r"^Instruction: (.*)$", content, re.MULTILINE)
    page = content.split("\n----\n")[1] if "\n----\n" in content else ""
    return (task.group(1) if task else "", instruction.group(1) if instruction else "", page)


def quoted_strings(instruction: str) -> list[str]:
    return re.findall(r'"([^"]*)"', instruction)


def _first(items: Sequence[PageItem], **want: Any) -> PageItem | None:
    return next((it for it in items if it.id is not None and all(getattr(it, k) == v for k, v in want.items())), None)


def submit_action(items: Sequence[PageItem]) -> str:
    button = next((it for it in items if it.role == "button"
                   and it.name.lower() in ("submit", "login", "ok", "search")), None)
    return f"click({button.id})" if button else "stop()"


def fill_then_submit(items: Sequence[PageItem], wanted: Sequence[str]) -> str:
    """Type each wanted text into the text fields in order, then press the submit button."""
    fields = [it for it in items if it.role == "textbox"]
    for field, text in zip(fields, wanted):
        if field.value != text:
            return f"type({field.id}, {_js_string(text)})"
    return submit_action(items)


def _js_string(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)


def solve(content: str) -> str:
    """The next action that solves the task shown in a `MiniWoBEnv` observation, read from the instruction and
    the page's current state (so it needs no memory of earlier turns). Returns stop() if it cannot tell."""
    task, instruction, page = observation_parts(content)
    from agentrl.environments.web.miniwob import BASIC_TASKS  # miniwob imports this module at its top
    from agentrl.environments.web.miniwob_oracles import SOLVERS

    if task in SOLVERS and task not in BASIC_TASKS:
        return SOLVERS[task](content)
    items = parse_page(page)
    quoted = quoted_strings(instruction)
    target: PageItem | None = None
    if task == "click-button" and quoted:
        target = _first(items, role="button", name=quoted[0])
    elif task == "click-link" and quoted:
        target = next((it for it in items if it.id is not None and it.name == quoted[-1]), None)
    elif task == "click-dialog":
        target = next((it for it in items if it.role == "button" and it.name.lower() in ("close", "x", "×")), None)
    elif task == "click-tab":
        m = re.search(r"(Tab #\d+)", instruction)
        target = next((it for it in items if it.role in ("tab", "link") and m and it.name == m.group(1)), None)
    elif task == "focus-text":
        target = _first(items, role="textbox")
    elif task in ("click-option", "click-checkboxes"):
        return _choose_boxes(items, instruction)
    elif task == "choose-list":
        m = re.search(r"^Select (.*) from the list", instruction)
        box = _first(items, role="combobox")
        if m and box:
            return f"select({box.id}, {_js_string(m.group(1))})" if box.value != m.group(1) else submit_action(items)
    elif task == "enter-text" and quoted:
        return fill_then_submit(items, quoted[:1])
    elif task == "enter-text-2" and quoted:
        text = quoted[0].lower() if "lower case" in instruction else quoted[0].upper()
        return fill_then_submit(items, [text])
    elif task == "enter-password" and quoted:
        return fill_then_submit(items, [quoted[0], quoted[0]])
    elif task == "login-user" and len(quoted) >= 2:
        return fill_then_submit(items, quoted[:2])
    return f"click({target.id})" if target else "stop()"


def _choose_boxes(items: Sequence[PageItem], instruction: str) -> str:
    m = re.search(r"^Select (.*) and click Submit", instruction)
    if not m:
        return "stop()"
    wanted = set() if m.group(1) == "nothing" else set(m.group(1).split(", "))
    for box in (it for it in items if it.role in ("checkbox", "radio")):
        if (box.label in wanted) != bool(box.checked):
            return f"click({box.id})"
    return submit_action(items)


def scripted_policy(seed: int = 0) -> ScriptedPolicy:
    """Solves every task in `TASKS` from the latest observation (instruction + page)."""

    def script(agent: str, messages: Sequence[Message], rng: Any) -> str:
        latest = next((m["content"] for m in reversed(messages)
                       if m.get("role") == "user" and "MiniWoB++ task:" in str(m.get("content"))), "")
        return solve(latest)

    return ScriptedPolicy(script, seed=seed)
