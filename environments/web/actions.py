"""The action grammar models write, and the act step both browser backends share.

Actions (`ACTION_HELP` is the grammar shown to models; docs/web.md has the full table):

- by element id: click(id), dblclick(id), hover(id), drag(from_id, to_id), type(id, "text"),
  select(id, "option") (on a multi-select list it adds the option, or drops it if picked), scroll(id, up|down)
- by viewport coordinates (pixels, as the ``box=[x,y,w,h]`` of a rendered line): click_xy(x, y),
  dblclick_xy(x, y), hover_xy(x, y), drag_xy(x1, y1, x2, y2)
- keyboard: type("text") types into the focused element, press("Enter") or a chord such as
  press("Control+A")
- page: scroll(up|down), back(), goto("url"); episode: answer("text"), stop().

A reply may contain prose; the last action call in it counts. `parse_action` never raises: bad model output
gives a `BadAction` whose reason says what was wrong and how to write it. Backends refuse the kinds they cannot
perform (the text browser has no mouse) with an error in the observation.

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
# The grammar for pages with a mouse and keyboard (MiniWoB++): coordinates are the box=[x,y,w,h] pixels.
POINTER_ACTION_HELP = (
    "Reply with one action, for example: click(3) | dblclick(3) | hover(3) | drag(3, 7) | type(5, \"text\") | "
    "select(7, \"large\") | click_xy(40, 80) | dblclick_xy(40, 80) | hover_xy(40, 80) | "
    "drag_xy(10, 20, 90, 20) | type(\"text\") (into the focused element) | press(\"Enter\") | "
    "press(\"Control+A\") | scroll(down) | scroll(4, down) | stop(). Numbers in brackets are the [id]s "
    "shown on the page; x, y are viewport pixels as in box=[x,y,width,height]."
)


@dataclasses.dataclass(frozen=True)
class Action:
    """A parsed action. `target` is an element id; `text` the string argument (text, option, key, url, answer,
    or the scroll direction); `to` the drop target of drag(from, to); `xy` the pixel coordinates of the
    _xy kinds (x, y or x1, y1, x2, y2)."""

    kind: str
    target: int | None = None
    text: str | None = None
    to: int | None = None
    xy: tuple[float, ...] = ()

    @property
    def ends_episode(self) -> bool:
        return self.kind in ("answer", "stop")

    @property
    def ids(self) -> tuple[int, ...]:
        """Every element id the action names."""
        return tuple(i for i in (self.target, self.to) if i is not None)

    def __str__(self) -> str:
        args = [str(i) for i in self.ids] + [f"{v:g}" for v in self.xy]
        if self.text is not None:
            args.append(self.text if self.kind == "scroll" else json.dumps(self.text, ensure_ascii=False))
        return f"{self.kind}({', '.join(args)})"


@dataclasses.dataclass(frozen=True)
class BadAction:
    """A reply that is not a legal action; `reason` says what was wrong and how to write it."""

    reason: str
    ends_episode = False


# name -> the argument signatures it accepts: i = element id, n = a pixel coordinate, s = string,
# d = scroll direction
_SIGNATURES = {"click": ("i",), "dblclick": ("i",), "hover": ("i",), "drag": ("ii",),
               "click_xy": ("nn",), "dblclick_xy": ("nn",), "hover_xy": ("nn",), "drag_xy": ("nnnn",),
               "type": ("is", "s"), "select": ("is",), "press": ("s",), "scroll": ("d", "id"), "back": ("",),
               "goto": ("s",), "answer": ("s",), "stop": ("",)}
_USAGE = {"click": "click(3)", "dblclick": "dblclick(3)", "hover": "hover(3)", "drag": "drag(3, 7)",
          "click_xy": "click_xy(40, 80)", "dblclick_xy": "dblclick_xy(40, 80)", "hover_xy": "hover_xy(40, 80)",
          "drag_xy": "drag_xy(10, 20, 90, 20)", "type": 'type(3, "text")', "select": 'select(3, "option")',
          "press": 'press("Enter")', "scroll": "scroll(down)", "back": "back()", "goto": 'goto("/path")',
          "answer": 'answer("text")', "stop": "stop()"}
# longest names first, so click_xy( is not read as click followed by junk
_CALL_START = re.compile(r"\b(" + "|".join(sorted(_SIGNATURES, key=len, reverse=True)) + r")\s*\(", re.IGNORECASE)
_TOKEN = re.compile(r"""\s*(?:(?P<int>\[?-?\d+(?:\.\d+)?\]?)|(?P<dq>"(?:[^"\\]|\\.)*")|(?P<sq>'(?:[^'\\]|\\.)*')|"""
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
    usage = _USAGE[name]
    sigs = [sig for sig in _SIGNATURES[name] if len(sig) == len(args)]
    if not sigs:
        counts = " or ".join(str(len(sig)) for sig in _SIGNATURES[name])
        return f"{name} takes {counts} argument(s), got {len(args)}; write {usage}"
    # type(3, "x") vs type("x"), scroll(down) vs scroll(4, down): the signature of this many arguments
    return _bind(name, args, sigs[0], usage)


def _bind(name: str, args: list[tuple[str, str]], sig: str, usage: str) -> Action | str:
    ids: list[int] = []
    xy: list[float] = []
    text = None
    for (kind, raw), want in zip(args, sig):
        if want == "i":
            if kind != "int" or "." in raw:
                return f"the first argument of {name} must be an element id number; write {usage}" if not ids \
                    else f"the arguments of {name} must be element id numbers; write {usage}"
            ids.append(int(raw))
        elif want == "n":
            if kind != "int":
                return f"{name} takes pixel coordinates (numbers); write {usage}"
            xy.append(float(raw))
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
    return Action(name, ids[0] if ids else None, text, ids[1] if len(ids) > 1 else None, tuple(xy))


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
    unknown = [i for i in action.ids if i not in known_ids]
    if unknown:
        return await observe(_unknown_id(action, unknown[0], known_ids))
    try:
        error = await perform(action)
    except Exception as e:  # Playwright timeouts, detached elements, bad option names, a site's broken HTML  # noqa: BLE001
        error = f"{action} failed: {short_error(e)}"
    return await observe(error)


def _unknown_id(action: Action, missing: int, ids: set[int]) -> str:
    shown = f"ids on this page are 1..{max(ids)}" if ids else "this page has no interactive elements"
    return f"{action} names element [{missing}], which is not on this page; {shown}"


def short_error(e: BaseException, limit: int = 400) -> str:
    """An exception's message for an action error: its first line and, for a Playwright error with a call
    log, the log's last line (where the reason is, such as which element intercepts pointer events)."""
    lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip() and set(ln.strip()) != {"="}]
    if not lines:
        return type(e).__name__
    text = lines[0]
    log = [ln for ln in lines[1:] if not ln.lower().startswith("call log")]
    if log:
        why = next((ln for ln in reversed(log) if "intercepts pointer events" in ln), log[-1])
        text = f"{text} ({why.lstrip('- ')})"
    return text if len(text) <= limit else text[:limit - 3] + "..."


_KEYS = {"enter": "Enter", "return": "Enter", "tab": "Tab", "escape": "Escape", "esc": "Escape",
         "backspace": "Backspace", "space": " ", "arrowdown": "ArrowDown", "arrowup": "ArrowUp",
         "arrowleft": "ArrowLeft", "arrowright": "ArrowRight", "pagedown": "PageDown", "pageup": "PageUp"}


_MODIFIERS = {"ctrl": "Control", "control": "Control", "shift": "Shift", "alt": "Alt", "option": "Alt",
              "meta": "Meta", "cmd": "Meta", "command": "Meta", "super": "Meta"}


def key_name(key: str) -> str:
    """A key or chord as a model may write it ("enter", "Arrow Down", "ctrl+a") to its Playwright name
    ("Enter", "ArrowDown", "Control+a"); unknown keys unchanged."""
    parts = key.split("+") if len(key) > 1 else [key]
    if len(parts) > 1 and parts[-1] == "":  # "Control++": the plus key itself
        parts = [*parts[:-2], "+"]
    *mods, last = parts
    names = [_MODIFIERS.get(m.strip().lower(), m.strip()) for m in mods]
    return "+".join([*names, _KEYS.get(last.strip().lower().replace(" ", ""), last.strip() or last)])
