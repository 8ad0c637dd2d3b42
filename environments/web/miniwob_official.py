"""Side by side with the official `miniwob` gymnasium env (Selenium + chromedriver): play an episode in our
`MiniWoBEnv`, replay the same actions in the official env, and compare what both pages report.

Used by the conformance test (tests/integration/web/test_miniwob_official.py), the full sweep
(bench/miniwob_sweep.py) and the speed bench (bench/web.py). Each of our actions becomes official actions:
an element action becomes CLICK_ELEMENT / FOCUS_ELEMENT_AND_TYPE_TEXT on the official element with the same
box (the same Chromium lays the page out the same way), a pointer action the official coordinate actions at the
same pixels, a key press PRESS_KEY. The official env discounts by wall-clock time, ours by page time, so raw
rewards, utterances and whether the page ended the episode are compared, not discounted rewards.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from agentrl.environments.web.actions import Action, key_name, parse_action
from agentrl.environments.web.chromium import _DRAG_STEPS
from agentrl.environments.web.miniwob import (
    AGENT,
    RELOAD_TASKS,
    MiniWoBError,
    PageItem,
    observation_parts,
    parse_page,
    solve,
)
from agentrl.types import Task

CHROMEDRIVER = os.environ.get("MINIWOB_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROME = os.environ.get("MINIWOB_CHROME_BINARY", "/usr/bin/chromium")
_EXTRA_KEYS = ("C-a", "C-c", "C-v", "C-x", "C-z", "S-<Tab>", "<Escape>", "<Home>", "<End>")
_SPECIAL = {"Enter": "<Enter>", "PageUp": "<PageUp>", "PageDown": "<PageDown>", "Backspace": "<Backspace>",
            "Delete": "<Delete>", "Tab": "<Tab>", " ": "<Space>", "Space": "<Space>", "ArrowUp": "<ArrowUp>",
            "ArrowRight": "<ArrowRight>", "ArrowDown": "<ArrowDown>", "ArrowLeft": "<ArrowLeft>",
            "Escape": "<Escape>", "Home": "<Home>", "End": "<End>"}
# where our mouse waits between episodes (miniwob._PARK) lies outside the official window: a point off the task
# area (160 px wide) inside it stands for it
_AWAY = (300.0, 100.0)
_MODS = {"Control": "C-", "Shift": "S-", "Alt": "A-", "Meta": "M-"}


@dataclasses.dataclass(frozen=True)
class Step:
    """One of our actions with what the official env needs to find its targets: their boxes and names."""

    action: Action
    targets: tuple[PageItem, ...] = ()
    # each target's place in our page's DOM (child indices from <html>), so the replay clicks the same element
    # even where an animation has moved it between the two pages' observations (a box would not match)
    paths: tuple[tuple[int, ...] | None, ...] = ()


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a page reported at the end of an episode."""

    utterance: str
    raw_reward: float
    done: bool
    steps: tuple[Step, ...] = ()
    reward: float = 0.0  # the time-discounted reward (ours by page time, the official env's by wall clock)

    def same(self, other: Outcome) -> bool:
        return (self.utterance, self.raw_reward, self.done) == (other.utterance, other.raw_reward, other.done)


def official_key(key: str) -> str:
    """A Playwright key or chord ("Control+a", "Enter") in the official env's syntax ("C-a", "<Enter>")."""
    *mods, last = key_name(key).split("+") if key_name(key) != "+" else ["+"]
    return "".join(_MODS.get(m, "") for m in mods) + _SPECIAL.get(last, last.lower() if mods else last)


def make_official(task: str) -> Any:
    """An official env for one task (headless Debian chromium via chromedriver, screenshots off)."""
    if not os.path.exists(CHROMEDRIVER):
        raise MiniWoBError(f"chromedriver is missing at {CHROMEDRIVER}: run launch/setup_web.sh (chromium-driver)")
    os.environ.setdefault("MINIWOB_CHROME_BINARY", CHROME)
    os.environ.setdefault("MINIWOB_CHROMEDRIVER", CHROMEDRIVER)
    import gymnasium
    import miniwob
    from miniwob.action import ActionSpaceConfig

    gymnasium.register_envs(miniwob)
    config = ActionSpaceConfig.get_preset("all_supported")
    # scroll_time 0: each wheel step is one instant tick instead of a 150 ms animation, since our one page
    # scroll (600 px) is 12 official steps and sign-agreement's 5 of them outlasted its 10 s episode
    config = dataclasses.replace(config, allowed_keys=tuple(config.allowed_keys) + _EXTRA_KEYS, scroll_time=0)
    # the tasks ours loads afresh every episode (their jQuery UI datepicker keeps the month last shown across a
    # re-seed) load afresh there too, with the official env's own option: else the oracle's Prev/Next clicks
    # start from the month an earlier episode left
    env = gymnasium.make(f"miniwob/{task}-v1", render_mode=None, action_space_config=config,
                         refresh_freq=1 if task in RELOAD_TASKS else 0)
    env.unwrapped.set_record_screenshots(False)
    return env


# -- our side ---------------------------------------------------------------------------------------------

Policy = Callable[[str, int], str]  # (latest observation, turn index) -> reply


def oracle_policy(obs: str, turn: int) -> str:
    return solve(obs)


def wrong_policy(obs: str, turn: int) -> str:
    """One deliberately wrong action, then give up: a click on another element than the oracle's, or the
    oracle's field typed with the wrong text, or a click in an empty corner."""
    if turn > 0:
        return "stop()"
    right = parse_action(solve(obs))
    items = [it for it in parse_page(observation_parts(obs)[2]) if it.id is not None]
    if isinstance(right, Action) and right.kind == "type" and right.target is not None:
        return f'type({right.target}, "zzz wrong")'
    target = right.target if isinstance(right, Action) else None
    other = next((it for it in reversed(items) if it.id != target), None)
    return f"click({other.id})" if other is not None else "click_xy(150, 200)"


_PATH_JS = """ids => ids.map(id => {
  let el = document.querySelector(`[data-agentrl-id="${id}"]`);
  if (!el) return null;
  const path = [];
  for (; el !== document.documentElement; el = el.parentElement) path.unshift([...el.parentElement.children].indexOf(el));
  return path;
})"""


async def play_ours(env: Any, task: str, seed: int, policy: Policy, max_turns: int = 40) -> Outcome:
    obs = (await env.reset(Task(id=f"{task}/seed{seed}", env_kwargs={"task": task, "seed": seed}), seed))[AGENT]
    utterance = observation_parts(obs)[1]
    steps: list[Step] = []
    info: dict[str, Any] = {"miniwob_raw_reward": 0.0, "miniwob_done": False}
    for turn in range(max_turns):
        reply = policy(obs, turn)
        action = parse_action(reply)
        if isinstance(action, Action) and not action.ends_episode:
            by_id = {it.id: it for it in parse_page(observation_parts(obs)[2]) if it.id is not None}
            ids = [i for i in action.ids if i in by_id]
            paths = await env._browser.page.evaluate(_PATH_JS, ids) if ids else []
            steps.append(Step(action, tuple(by_id[i] for i in ids), tuple(tuple(q) if q else None for q in paths)))
        result = await env.step({AGENT: reply})
        info = result.infos[AGENT]
        if result.terminated[AGENT]:
            break
        obs = result.obs[AGENT]
    return Outcome(utterance, float(info["miniwob_raw_reward"]), bool(info["miniwob_done"]), tuple(steps),
                   float(info.get("miniwob_reward", 0.0)))


# -- the official side ------------------------------------------------------------------------------------

_REF_AT_PATH_JS = """var el = document.documentElement;
for (const i of arguments[0]) el = el && el.children[i];
// only an element that the official env's last observation listed has a ref that core.elementClick knows
return el && el.dataset && el.dataset.wob_ref !== undefined && core.previousDOMInfo[+el.dataset.wob_ref]
  ? +el.dataset.wob_ref : null;"""


def _ref_for(item: PageItem, elements: Sequence[dict], path: tuple[int, ...] | None = None,
             driver: Any = None) -> int | None:
    """The official element at the same place in the DOM as ours, else the one with the same box (the innermost
    one, refs grow with depth), preferring one whose text matches the name."""
    if item.box is None:
        return None
    x, y, w, h = item.box
    ref = driver.execute_script(_REF_AT_PATH_JS, list(path)) if path is not None and driver is not None else None
    if ref is None:
        same = [e for e in elements if abs(e["left"][0] - x) <= 1 and abs(e["top"][0] - y) <= 1
                and abs(e["width"][0] - w) <= 1 and abs(e["height"][0] - h) <= 1]
        named = [e for e in same if item.name and e["text"] == item.name]
        pick = named or same
        if not pick:
            return None
        ref = int(max(pick, key=lambda e: e["ref"])["ref"])
    ref = int(ref)
    # our click is a real mouse click at the center, which lands on the innermost element there (jQuery UI's
    # tab is an <li> whose <a> has the handler): the official DOM click goes to that descendant
    parent = {int(e["ref"]): int(e["parent"]) for e in elements}

    def inside(r: int) -> bool:
        while r in parent and r != ref:
            r = parent[r]
        return r == ref

    cx, cy = x + w / 2, y + h / 2
    under = [e for e in elements if e["ref"] > 0 and inside(int(e["ref"]))
             and e["left"][0] <= cx <= e["left"][0] + e["width"][0] and e["top"][0] <= cy <= e["top"][0] + e["height"][0]]
    return int(max(under, key=lambda e: e["ref"])["ref"]) if under else ref


def _in_window(u: Any, x: float, y: float) -> bool:
    """Whether the official window holds the point (WebDriver refuses to move the mouse outside it: our
    click scrolls its target into view first, which the official element click does not need)."""
    return 0 <= x < u.instance.inner_width and 0 <= y < u.instance.inner_height


def _center(item: PageItem) -> tuple[float, float]:
    assert item.center is not None, "a pointer action's target has a box"
    return tuple(float(v) for v in item.center)  # type: ignore[return-value]


def official_actions(env: Any, step: Step, elements: Sequence[dict],
                     mouse: tuple[float, float] = _AWAY, pointer_on_page: bool = False) -> list[Any]:
    """Our step as official actions on the page the official env shows now; `mouse` is where our mouse is
    (a page-level scroll turns the wheel there); `pointer_on_page`: an earlier step moved the official mouse
    onto the page (a coordinate action), so it rests over some element there."""
    import numpy as np
    from miniwob.action import ActionTypes as T

    u = env.unwrapped
    make = u.create_action
    a = step.action

    def xy(kind: Any, x: float, y: float) -> Any:
        return make(kind, coords=np.array([x, y], dtype=np.float32))

    def target_ref(i: int) -> int | None:
        if i >= len(step.targets):
            return None
        path = step.paths[i] if i < len(step.paths) else None
        return _ref_for(step.targets[i], elements, path, u.instance.driver)

    if a.kind in ("click", "type", "select") and a.target is not None:
        ref = target_ref(0)
        if ref is None:  # no official element with that box: the same pixels
            out = [xy(T.CLICK_COORDS, *_center(step.targets[0]))]
        elif a.kind == "click" and pointer_on_page and _in_window(u, *_center(step.targets[0])):
            # ours moves the mouse onto the target before it clicks; the official element click moves nothing,
            # so a widget that tracks the hovered item (jQuery UI's menu selects its active item, the one
            # the mouse last entered) would still see the pointer where an earlier hover left it
            out = [xy(T.MOVE_COORDS, *_center(step.targets[0])), make(T.CLICK_ELEMENT, ref=ref)]
        else:
            out = [make(T.CLICK_ELEMENT, ref=ref)]
        if a.kind == "select" and ref is not None and (found := _select_keys(u, ref, a.text or "")) is not None:
            select, keys = found
            return [make(T.CLICK_ELEMENT, ref=select),
                    *(make(T.PRESS_KEY, key=u.action_space_config.allowed_keys.index(k)) for k in keys)]
        if a.kind in ("type", "select") and a.text:
            out = [make(T.FOCUS_ELEMENT_AND_TYPE_TEXT, ref=ref, text=a.text)] if ref is not None \
                else [*out, make(T.TYPE_TEXT, text=a.text)]
            if a.kind == "type" and step.targets[0].value:  # ours replaces what the field holds; so must theirs
                select_all = make(T.PRESS_KEY, key=u.action_space_config.allowed_keys.index("C-a"))
                out = [make(T.CLICK_ELEMENT, ref=ref), select_all, make(T.TYPE_TEXT, text=a.text)] \
                    if ref is not None else [out[0], select_all, out[-1]]
        return out
    if a.kind == "type":
        return [make(T.TYPE_TEXT, text=a.text or "")]
    if a.kind == "press":
        return [make(T.PRESS_KEY, key=u.action_space_config.allowed_keys.index(official_key(a.text or "")))]
    if a.kind in ("dblclick", "hover"):
        kind = T.DBLCLICK_COORDS if a.kind == "dblclick" else T.MOVE_COORDS
        return [xy(kind, *_center(step.targets[0]))]
    if a.kind == "click_xy":
        return [xy(T.CLICK_COORDS, *a.xy)]
    if a.kind == "dblclick_xy":
        return [xy(T.DBLCLICK_COORDS, *a.xy)]
    if a.kind == "hover_xy":
        return [xy(T.MOVE_COORDS, *a.xy)]
    if a.kind in ("drag", "drag_xy"):
        (x1, y1), (x2, y2) = (_center(step.targets[0]), _center(step.targets[1])) if a.kind == "drag" \
            else (a.xy[:2], a.xy[2:])
        # the same intermediate moves as ours (Playwright's `steps`), so a drag library sees the same motion
        moves = [xy(T.MOVE_COORDS, x1 + (x2 - x1) * i / _DRAG_STEPS, y1 + (y2 - y1) * i / _DRAG_STEPS)
                 for i in range(1, _DRAG_STEPS + 1)]
        return [xy(T.MOUSEDOWN_COORDS, x1, y1), *moves, xy(T.MOUSEUP_COORDS, x2, y2)]
    if a.kind == "scroll":
        # the official wheel moves a fixed amount (scroll_amount, 50 px); ours moves a box by 80% of its
        # height (40 px at least) or the page by 600 px: as many wheel steps as cover that distance
        kind = T.SCROLL_DOWN_COORDS if a.text == "down" else T.SCROLL_UP_COORDS
        distance, where = 600.0, mouse
        if step.targets:
            where, ref = _center(step.targets[0]), target_ref(0)
            height = u.instance.driver.execute_script(
                "var el = core.previousDOMInfo[arguments[0]]; return el ? el.clientHeight : null;", ref) \
                if ref is not None else None
            distance = max(40.0, 0.8 * height) if height else 40.0
        return [xy(kind, *where)] * math.ceil(distance / u.action_space_config.scroll_amount)
    raise MiniWoBError(f"{a} has no official counterpart")


# [selected index, index of the option ours would pick (its label or value, as chromium._select), multiple]
_SELECT_STATE_JS = """var el = core.previousDOMInfo[arguments[0]], want = arguments[1];
el = el && el.closest && el.closest("select");  // the box may have matched an option inside the list
if (!el || el.dataset.wob_ref === undefined) return null;
var opts = Array.from(el.options), i = opts.findIndex(o => {
  var label = o.textContent.split(/\\s+/).filter(Boolean).join(" ");
  return want === label || want === o.value || want.toLowerCase() === label.toLowerCase(); });
return [el.selectedIndex, i, el.multiple, opts.filter(o => o.selected).length, +el.dataset.wob_ref];"""


def _select_keys(u: Any, ref: int, text: str) -> tuple[int, list[str]] | None:
    """The <select>'s ref and the arrow keys that move it, focused, from its option to ours (the official action set has no
    "select option"; typing the label into it, the fallback, jumps by first letters and a space opens the
    list). None where keys cannot do it: no such option, or a list box with options picked already, where
    ours adds one (a Ctrl-click) and the official keys can only pick one option or a run of them."""
    state = u.instance.driver.execute_script(_SELECT_STATE_JS, ref, text)
    if state is None or state[1] < 0 or (state[2] and state[3] > 0):
        return None
    current, want = (state[0], state[1]) if state[0] >= 0 else (0, state[1])
    first = ["<ArrowDown>"] if state[0] < 0 else []  # with nothing picked, the first key press picks option 0
    return state[4], first + ["<ArrowDown>" if want > current else "<ArrowUp>"] * abs(want - current)


_BLUR_JS = "if (document.activeElement && document.activeElement.blur) document.activeElement.blur();"

# The official reset lists the page (core.getDOMInfo, which skips elements of zero size) as soon as the task is
# ready, and on a freshly loaded official page its icons may not have loaded by then: social-media's icons (CSS
# `content: url(...)`) have no width until they load, and one fresh official env in eight listed none of them.
# The replay then found no official element for our 'more' click and fell back to a real click at our pixels,
# where the hover swaps in an image that page had not loaded yet: the click was lost (official 0.0, not done).
# Ours reads a page only once its images have loaded (chromium's walk waits for them), so the replay gives the
# official listing the same condition: it waits for the page's images and, only where the reset's listing
# skipped an element that has a size once they have loaded, lists the page again (else it keeps the listing,
# so the official timeline is unchanged).
_UNLISTED_AFTER_IMAGES_JS = """var done = arguments[arguments.length - 1];
var imaged = [], urls = new Set();
for (const el of document.querySelectorAll("body *")) {
  const cs = getComputedStyle(el);
  const found = [cs.content, cs.backgroundImage].map(v => /^url\\("?([^")]+)"?\\)$/.exec(v || "")).filter(Boolean);
  if (el instanceof HTMLImageElement && el.src) found.push([null, el.src]);
  if (found.length) imaged.push(el);
  for (const m of found) urls.add(m[1]);
}
Promise.all([...urls].map(u => new Promise(ok => {
  const im = new Image(); im.onload = im.onerror = () => ok(); im.src = u; if (im.complete) ok();
}))).then(() => setTimeout(() => done(imaged.some(el => {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && el.dataset.wob_eps !== "e" + WOB_EPISODE_ID && !el.closest("#query");
})), 0));"""


def play_official(env: Any, seed: int, steps: Sequence[Step], ms_per_action: int = 200) -> Outcome:
    """Our steps in the official env. Each waits `ms_per_action` of wall-clock time first, as each of our
    replies costs that much page time before its action runs: an animation an action starts (an accordion
    opening, a submenu appearing) is as far along when the next one comes."""
    obs, _ = env.reset(seed=seed)
    # the official reset keeps the page and whatever the last episode focused (ours blurs it: TIDY_JS); an
    # input still focused gets no focus event from the next element click, which decides login-user-popup's
    # popup and which segment of enter-time's time input takes the keys. Both episodes start unfocused.
    env.unwrapped.instance.driver.execute_script(_BLUR_JS)
    if env.unwrapped.instance.driver.execute_async_script(_UNLISTED_AFTER_IMAGES_JS):
        obs, _ = env.unwrapped.instance.get_observation(use_cached_fields=True)
    utterance = obs["utterance"]
    raw, done, reward = 0.0, False, 0.0
    mouse, pointer_on_page = _AWAY, False
    for step in steps:
        elements = obs["dom_elements"]  # the page as it was right after the last action, as our step saw it
        time.sleep(ms_per_action / 1000)
        actions = official_actions(env, step, elements, mouse, pointer_on_page)
        pointer_on_page = pointer_on_page or any(
            env.unwrapped.action_space_config.action_types[x["action_type"]].value in _POINTER_TYPES for x in actions)
        for action in actions:
            obs, reward, done, _, info = env.step(action)
            raw = float(info["raw_reward"])
            if done:
                return Outcome(utterance, raw, True, tuple(steps), float(reward))
        mouse = _mouse_after(step, mouse)
    return Outcome(utterance, raw, done, tuple(steps), float(reward))


# the official action types that move its mouse (the element actions and the wheel do not)
_POINTER_TYPES = frozenset({"MOVE_COORDS", "CLICK_COORDS", "DBLCLICK_COORDS", "MOUSEDOWN_COORDS", "MOUSEUP_COORDS"})


def _mouse_after(step: Step, mouse: tuple[float, float]) -> tuple[float, float]:
    """Where our mouse is after a step: a click or hover by id ends at the target, a drag at its end."""
    a = step.action
    if a.kind in ("click_xy", "dblclick_xy", "hover_xy"):
        return float(a.xy[0]), float(a.xy[1])
    if a.kind == "drag_xy":
        return float(a.xy[2]), float(a.xy[3])
    if a.kind in ("click", "dblclick", "hover", "drag", "type", "select") and step.targets and step.targets[-1].center:
        return _center(step.targets[-1])
    return mouse


def explain(ours: Outcome, theirs: Outcome) -> str:
    parts = []
    if ours.utterance != theirs.utterance:
        parts.append(f"utterance ours {ours.utterance!r} vs official {theirs.utterance!r}")
    if ours.raw_reward != theirs.raw_reward:
        parts.append(f"raw reward ours {ours.raw_reward} vs official {theirs.raw_reward}")
    if ours.done != theirs.done:
        parts.append(f"done ours {ours.done} vs official {theirs.done}")
    return "; ".join(parts) or "same"

