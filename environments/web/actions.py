"""The action grammar models write, and the act step both browser backends share.

Actions (`ACTION_HELP` is the grammar shown to models): click(id), type(id, "text"), select(id, "option"),
press("Enter"), scroll(up|down), back(), goto("url"), answer("text"), stop(). A reply may contain prose; the
last action call in it counts. `parse_action` never raises: bad model output gives a `BadAction` whose reason
says what was wrong and how to write it.

`act_and_observe` is each backend's `act`: unknown ids and failed actions come back as the observation's
`error`, never as an exception.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from agentrl.environments.web.page import Observation

ACTION_HELP = (
    "Reply with one action, for example: click(3) | type(5, \"red shoes\") | select(7, \"large\") | "
    "press(\"Enter\") | scroll(down) | back() | goto(\"/path\") | answer(\"text\") | stop(). "
    "Numbers are the [id]s shown on the page."
)


@dataclasses.dataclass(frozen=True)
class Action:
    """A parsed action. `target` is an element id; `text` the string argument (text, option, key, url, answer,
    or the scroll direction)."""

    kind: str
    target: int | None = None
    text: str | None = None

    @property
    def ends_episode(self) -> bool:
        return self.kind in ("answer", "stop")

    def __str__(self) -> str:
        args = [str(self.target)] if self.target is not None else []
        if self.text is not None:
            args.append(self.text if self.kind == "scroll" else json.dumps(self.text, ensure_ascii=False))
        return f"{self.kind}({', '.join(args)})"


@dataclasses.dataclass(frozen=True)
class BadAction:
    """A reply that is not a legal action; `reason` says what was wrong and how to write it."""

    reason: str
    ends_episode = False


# name -> argument signature: i = element id, s = string, d = scroll direction
_SIGNATURES = {"click": "i", "type": "is", "select": "is", "press": "s", "scroll": "d", "back": "",
               "goto": "s", "answer": "s", "stop": ""}
_CALL_START = re.compile(r"\b(" + "|".join(_SIGNATURES) + r")\s*\(", re.IGNORECASE)
_TOKEN = re.compile(r"""\s*(?:(?P<int>\[?-?\d+\]?)|(?P<dq>"(?:[^"\\]|\\.)*")|(?P<sq>'(?:[^'\\]|\\.)*')|"""
                    r"""(?P<word>[A-Za-z_][A-Za-z0-9_+\-]*))\s*""", re.DOTALL)


def _unquote(token: str) -> str:
    inner = token[1:-1]
    try:
        return json.loads('"' + inner.replace('"', '\\"').replace("\\'", "'").replace('\\\\"', '\\"') + '"')
    except (json.JSONDecodeError, ValueError):
        return inner


def _parse_call(text: str, start: int) -> tuple[Action | str, int]:
    """Parse one call whose name starts at `start`; returns (Action or error text, end index)."""
    m = _CALL_START.match(text, start)
    assert m is not None
    name = m.group(1).lower()
    pos, args = m.end(), []
    while True:
        if text.startswith(")", pos):
            pos += 1
            break
        tok = _TOKEN.match(text, pos)
        if tok is None or tok.end() == pos:
            return f"could not read the arguments of {name}(...)", pos
        kind = tok.lastgroup
        raw = tok.group(kind)
        args.append((kind, raw.strip("[]") if kind == "int" else raw))
        pos = tok.end()
        if text.startswith(",", pos):
            pos += 1
        elif not text.startswith(")", pos):
            return f"{name}(...) is missing its closing parenthesis or a comma between arguments", pos
    return _check_args(name, args), pos


def _check_args(name: str, args: list[tuple[str, str]]) -> Action | str:
    sig = _SIGNATURES[name]
    usage = {"click": "click(3)", "type": 'type(3, "text")', "select": 'select(3, "option")',
             "press": 'press("Enter")', "scroll": "scroll(down)", "back": "back()", "goto": 'goto("/path")',
             "answer": 'answer("text")', "stop": "stop()"}[name]
    if len(args) != len(sig):
        return f"{name} takes {len(sig)} argument(s), got {len(args)}; write {usage}"
    target, text = None, None
    for (kind, raw), want in zip(args, sig):
        if want == "i":
            if kind != "int":
                return f"the first argument of {name} must be an element id number; write {usage}"
            target = int(raw)
        elif want == "d":
            word = _unquote(raw) if kind in ("dq", "sq") else raw
            if word.lower() not in ("up", "down"):
                return f"scroll takes up or down, got {word!r}; write scroll(down)"
            text = word.lower()
        else:
            if kind in ("dq", "sq"):
                text = _unquote(raw)
            elif name == "press" and kind == "word":
                text = raw  # press(Enter) is unambiguous enough
            else:
                return f"{name} needs a quoted string; write {usage}"
    return Action(name, target, text)


def parse_action(text: Any) -> Action | BadAction:
    """Read the last action call in a model reply. Never raises: bad input gives a `BadAction`."""
    if not isinstance(text, str):
        return BadAction(f"the reply must be text, got {type(text).__name__}. {ACTION_HELP}")
    found: list[tuple[int, int, Action | str]] = []
    pos = 0
    while True:
        m = _CALL_START.search(text, pos)
        if m is None:
            break
        try:
            result, end = _parse_call(text, m.start())
        except Exception as e:  # a parser bug must not crash an episode; report it as a bad action  # noqa: BLE001
            result, end = f"unreadable action ({type(e).__name__})", m.end()
        found.append((m.start(), end, result))
        # a well-formed call consumes its arguments, so a call named inside a quoted answer is not re-read
        pos = end if isinstance(result, Action) else m.end()
    if not found:
        shown = text.strip()[:80]
        return BadAction(f"no action found in {shown!r}. {ACTION_HELP}")
    good = [r for _, _, r in found if isinstance(r, Action)]
    if good:
        return good[-1]
    return BadAction(f"{found[-1][2]}. {ACTION_HELP}")


# -- the act step ------------------------------------------------------------------------------------------

async def act_and_observe(action: Action | BadAction, known_ids: set[int],
                          observe: Callable[[str | None], Awaitable[Observation]],
                          perform: Callable[[Action], Awaitable[str | None]]) -> Observation:
    """Both backends' `act`: `perform` runs a page action on the backend and returns an error text or None;
    refusals and failures come back as the observation's error, never raised."""
    if isinstance(action, BadAction):
        return await observe(action.reason)
    if action.ends_episode:
        return await observe(None)
    if action.target is not None and action.target not in known_ids:
        return await observe(_unknown_id(action, known_ids))
    try:
        error = await perform(action)
    except Exception as e:  # Playwright timeouts, detached elements, bad option names, a site's broken HTML  # noqa: BLE001
        error = f"{action} failed: {short_error(e)}"
    return await observe(error)


def _unknown_id(action: Action, ids: set[int]) -> str:
    shown = f"ids on this page are 1..{max(ids)}" if ids else "this page has no interactive elements"
    return f"{action} names element [{action.target}], which is not on this page; {shown}"


def short_error(e: BaseException) -> str:
    """The first line of an exception's message (or its type), at most 200 characters, for an action error."""
    first = str(e).strip().splitlines()
    return (first[0] if first else type(e).__name__)[:200]


_KEYS = {"enter": "Enter", "return": "Enter", "tab": "Tab", "escape": "Escape", "esc": "Escape",
         "backspace": "Backspace", "space": " ", "arrowdown": "ArrowDown", "arrowup": "ArrowUp",
         "arrowleft": "ArrowLeft", "arrowright": "ArrowRight", "pagedown": "PageDown", "pageup": "PageUp"}


def key_name(key: str) -> str:
    """A key as a model may write it ("enter", "Arrow Down") to its Playwright name; unknown keys unchanged."""
    return _KEYS.get(key.strip().lower().replace(" ", ""), key)
