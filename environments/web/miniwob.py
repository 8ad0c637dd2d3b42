"""MiniWoB++ task pages (from the `miniwob` package) in a real headless Chromium, scored by the pages themselves.

Contract:
- A task is a (MiniWoB task name, seed) pair: ``Task.env_kwargs == {"task": "click-button", "seed": 3}``. The
  episode starts exactly as the official `miniwob` gymnasium env starts one: ``core.endEpisode(0)``,
  ``Math.seedrandom(seed)``, ``core.setDataMode(mode)``, ``core.startEpisodeReal()``, then wait for
  ``WOB_TASK_READY``. The same seed gives the same problem as the official env.
- Observation: the task's instruction (MiniWoB's utterance, ``core.getUtterance()``) and the page rendered as
  text with stable element ids and viewport boxes (``[3] button "OK" box=[x,y,w,h]``); actions are the web
  family's pointer grammar (`POINTER_ACTION_HELP`: click/dblclick/hover/drag by id or by coordinates, type,
  select, press with chords, scroll; docs/web.md). A click on an element that another one covers falls back to
  the official env's DOM click. A malformed action or an unknown id gets an observation that says what was
  wrong; it never raises.
- Reward: read from the page's own globals after every action (``WOB_REWARD_GLOBAL``: MiniWoB's time-discounted
  reward, ``WOB_RAW_REWARD_GLOBAL``: the raw one, ``WOB_DONE_GLOBAL``, ``WOB_REWARD_REASON``); never recomputed
  here. The env's step reward is the discounted one (the official env's default); both go into `infos` and the
  rubric's outcome terms ``miniwob`` (discounted) and ``miniwob_raw``.
- Time: MiniWoB discounts a positive reward by the elapsed fraction of ``core.EPISODE_MAX_TIME`` (10 s on most
  tasks) and ends the episode with -1 when it runs out. An LLM's thinking time depends on the hardware, so by
  default the page runs on a virtual clock (Playwright's clock): every agent reply costs `ms_per_action`
  milliseconds of page time (200 by default), then the action runs; each of a drag's moves takes a frame of page
  time (`DRAG_MS` per drag). Rewards are then deterministic and hardware-independent, and the page still
  computes them with its own code. ``clock="real"`` keeps wall-clock time, as the official env does.
- Resources: the env holds one Chromium process (from the event loop's `BrowserPool`, or a browser passed in)
  and one local HTTP server on 127.0.0.1 for the task pages, reuses both across its episodes with a fresh
  browser context per episode, and gives them back in `close()`. The browser aborts every request that is not
  on loopback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import http.server
import pathlib
import threading
from collections.abc import Mapping
from typing import Any, ClassVar

from agentrl.env import StepResult
from agentrl.environments.web.browser import browser_pool
from agentrl.environments.web.chromium import _DRAG_STEPS
from agentrl.environments.web.miniwob_js import (
    HIDE_HUD_CSS as _HIDE_HUD_CSS,
)
from agentrl.environments.web.miniwob_js import (
    HIDE_HUD_JS as _HIDE_HUD_JS,
)
from agentrl.environments.web.miniwob_js import (
    PRELOAD_HOVER_JS as _PRELOAD_HOVER_JS,
)
from agentrl.environments.web.miniwob_js import (
    REWARD_JS as _REWARD_JS,
)
from agentrl.environments.web.miniwob_js import (
    START_JS as _START_JS,
)
from agentrl.environments.web.miniwob_js import (
    TIDY_JS as _TIDY_JS,
)
from agentrl.environments.web.miniwob_js import (
    UTTERANCE_JS as _UTTERANCE_JS,
)
from agentrl.environments.web.miniwob_policy import (  # noqa: F401  re-exported: oracles and tests import them here
    PageItem,
    _js_string,
    fill_then_submit,
    observation_parts,
    parse_page,
    quoted_strings,
    scripted_policy,
    solve,
    submit_action,
)
from agentrl.errors import AgentRLError
from agentrl.rubric import Rubric
from agentrl.types import Task

AGENT = "agent"

# Tasks whose scripted solution reads only the instruction and the rendered page (see `solve`).
BASIC_TASKS: tuple[str, ...] = (
    "click-button", "click-link", "click-dialog", "click-tab", "click-option", "click-checkboxes",
    "choose-list", "focus-text", "enter-text", "enter-text-2", "enter-password", "login-user",
)


def _registered_tasks() -> tuple[str, ...]:
    from agentrl.environments.web.miniwob_oracles import SOLVERS

    return BASIC_TASKS + tuple(sorted(set(SOLVERS) - set(BASIC_TASKS)))


TASKS: tuple[str, ...] = _registered_tasks()


def _state_tasks() -> frozenset[str]:
    """Tasks whose observation shows element state (`state=`, see page.WALK_JS); the rest keep the plain walk."""
    from agentrl.environments.web.miniwob_oracles import STATE_TASKS

    return STATE_TASKS


SPLIT_SEEDS: Mapping[str, range] = {"train": range(20), "test": range(1000, 1005)}


class MiniWoBError(AgentRLError):
    """The MiniWoB++ pages or the browser could not be set up."""


def html_dir() -> pathlib.Path:
    """The folder of MiniWoB++ task pages shipped by the `miniwob` package."""
    try:
        import miniwob
    except ImportError as e:
        raise MiniWoBError("the `miniwob` package is missing; install the web extra: "
                           "pip install 'agentrl-suite[web]'") from e
    return pathlib.Path(miniwob.__file__).parent / "html"


def task_names() -> list[str]:
    """Every MiniWoB++ task page the installed package ships (not only the ones in `TASKS`)."""
    return sorted(p.stem for p in (html_dir() / "miniwob").glob("*.html"))


# -- the page server -----------------------------------------------------------------------------------------------

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    # MiniWoB's pages are UTF-8 (unicode-test's buttons read "ÖK") but declare no charset; without one in the
    # header Chromium decodes them as windows-1252
    extensions_map: ClassVar[dict[str, str]] = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8",
                      ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                      ".json": "application/json; charset=utf-8", ".txt": "text/plain; charset=utf-8",
                      ".svg": "image/svg+xml; charset=utf-8"}

    def log_message(self, *args: Any) -> None:  # one line per request would drown the test output
        pass


class PageServer:
    """Serves the MiniWoB++ html folder on 127.0.0.1 (a free port) from a daemon thread."""

    def __init__(self, root: pathlib.Path | None = None):
        handler = functools.partial(_QuietHandler, directory=str(root or html_dir()))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="miniwob-pages", daemon=True)
        self._thread.start()
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, task: str) -> str:
        return f"{self.origin}/miniwob/{task}.html"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# -- one episode's page ---------------------------------------------------------------------------------------

# Spans with a click handler (click-link's links) carry no role; the walk is told to treat them as controls.
CLICKABLE_SELECTOR = ".alink"
_PARK = (1000, 700)  # where the mouse waits between episodes: inside the viewport, far from the task area
_VIRTUAL_EPOCH_S = 1_700_000_000  # a fixed page clock start (seconds), so every episode sees the same dates
_LOAD_ALLOWANCE_S = 600  # the virtual clock starts this long before the episode: more than any page load takes
_FRAME_TICKS = 16  # the fake clock runs animation frames at multiples of this many ticks (ms)
DRAG_MS = _DRAG_STEPS * _FRAME_TICKS  # page time a drag's moves take on the virtual clock (`_drag_pace`)
_READY_POLL_S, _READY_ATTEMPTS = 0.05, 100


# The browser settings MiniWoB pages need: boxes for coordinate actions, script click handlers and SVG shapes
# as controls (a browser from the pool is made with them; a shared one gets them set before each reset).
BROWSER_SETTINGS: Mapping[str, Any] = {"extra_selector": CLICKABLE_SELECTOR, "boxes": True, "handlers": True,
                                       "svg": True}
# ... and, set on the browser for each episode, the reward globals read in the same round trip as each walk
_EPISODE_SETTINGS: Mapping[str, Any] = {**BROWSER_SETTINGS, "observe_extra": _REWARD_JS}


@dataclasses.dataclass(frozen=True)
class MiniWoBState:
    """The page's own reward globals, read after an action (never recomputed here).

    `reward` is MiniWoB's time-discounted reward (``WOB_REWARD_GLOBAL``), `raw_reward` the undiscounted one
    (``WOB_RAW_REWARD_GLOBAL``); both are 0 until `done`. `elapsed_ms` is page time since the episode began.
    """

    done: bool
    reward: float
    raw_reward: float
    reason: str | None
    elapsed_ms: float
    max_time_ms: float

    @classmethod
    def from_page(cls, raw: Mapping[str, Any]) -> MiniWoBState:
        return cls(bool(raw["done"]), float(raw["reward"]), float(raw["raw_reward"]), raw["reason"],
                   float(raw["now_ms"] - raw["start_ms"]), float(raw["max_time_ms"]))

    def as_info(self) -> dict[str, Any]:
        return {"miniwob_done": self.done, "miniwob_reward": self.reward, "miniwob_raw_reward": self.raw_reward,
                "miniwob_reason": self.reason, "miniwob_max_time_ms": self.max_time_ms}


async def install_clock(page: Any) -> None:
    """Put the page on the virtual clock before it loads, so that its libraries capture the fake timers: Raphael
    (click-pie) and d3 keep the `requestAnimationFrame` they find at load, and with a real one their animations
    ran on real frames that fell between the fake clock's ticks at random, so two runs of a seed differed. Time
    flows during the load; `start_episode` pauses it at the same instant for every load."""
    await page.clock.install(time=_VIRTUAL_EPOCH_S - _LOAD_ALLOWANCE_S)


@dataclasses.dataclass(frozen=True)
class EpisodeStart:
    """What starting an episode read back in its last round trip: MiniWoB's utterance, and the virtual clock's
    ticks at the start (None on the real clock), which the env counts on from there (only its run_for moves them)."""

    utterance: str
    ticks: int | None


async def start_episode(page: Any, seed: int | str, mode: str = "train", virtual_clock: bool = True) -> EpisodeStart:
    """Begin a MiniWoB episode on a task page loaded after `install_clock` (when `virtual_clock`), as the
    official env does (see the module docstring)."""
    if virtual_clock:
        await page.clock.pause_at(_VIRTUAL_EPOCH_S + 1)
    # pause_at rounds to a whole tick, and float time can make that one past the mark: read where it stopped
    now = await page.evaluate(_HIDE_HUD_JS, _HIDE_HUD_CSS)
    try:
        await asyncio.wait_for(page.evaluate(_PRELOAD_HOVER_JS), 5)
    except TimeoutError:
        pass  # an image that never loads: the page is read as it is
    return await _start(page, seed, mode, ticks=round(now) if virtual_clock else None)


# Playwright's clock calls (page.clock.run_for, set_system_time) cost two round trips each: the call is logged
# in an init script of the context (replayed if a new document loads), then evaluated in every frame. A MiniWoB
# episode loads no other document after `install_clock` (a fresh load gets a fresh context) and its pages have
# no frames, so the env runs the same controller (`__pwClock.controller`, what those calls evaluate) inside its
# own page calls: a re-seed and each step's thinking time cost no round trip of their own.
_CLOCK = ("const clock = globalThis.__pwClock && globalThis.__pwClock.controller; if (!clock) throw new Error("
          "'Playwright page clock (__pwClock) not found: the virtual clock needs install_clock before the load "
          "and a Playwright whose clock keeps __pwClock.controller (1.45 or later)');")
# A page timer that throws is the page's own error (a real browser logs it and goes on): the controller still
# runs every due timer and moves the clock on, then rethrows the first such error, which `_RUN` drops.
# click-collapsible-2 needs it: a wrong click's accordion animation, still running when the next episode
# destroys the accordion, reads a removed element's className.
_RUN = "const run = async (ms) => { try { await clock.runFor(ms); } catch (pageError) { /* the page's own */ } };"
# Start the episode's page time: Date at the fixed mark, the ticks on an animation frame boundary (the fake
# clock runs frames at multiples of 16 ticks), so a fresh load and a re-seed see their animations alike.
_ALIGN_JS = (f"{_CLOCK} {_RUN} const lag = ((-ticks % {_FRAME_TICKS}) + {_FRAME_TICKS}) % {_FRAME_TICKS}; "
             f"if (lag) await run(lag); clock.setSystemTime({(_VIRTUAL_EPOCH_S + 1) * 1000}); ")
# the reply's thinking time, then the reward globals (time may have run out before the action)
_THINK_JS = f"async (ms) => {{ {_CLOCK} {_RUN} await run(ms); return ({_REWARD_JS})(); }}"
# A frame of page time after each intermediate move of a drag (`ChromiumBrowser.drag_pace`): a real mouse's moves
# are apart in time, and jQuery UI's sortable refreshes its cached item positions in a timer after each
# rearrangement; with no page time between the moves, the later moves were tested against stale positions.
_PACE_JS = f"async () => {{ {_CLOCK} {_RUN} await run({_FRAME_TICKS}); }}"


async def _start(page: Any, seed: int | str, mode: str, before: str = "", ticks: int | None = None) -> EpisodeStart:
    """The official env's start; with `ticks` (the virtual clock's ticks now), the clock aligned first, in the
    same call."""
    align = _ALIGN_JS if ticks is not None else ""
    utterance = await page.evaluate(f"async ([a, ticks]) => {{ {align}{before} return ({_START_JS})(a); }}",
                                    [[seed, mode], ticks])
    if ticks is not None:
        ticks += -ticks % _FRAME_TICKS
    # most pages are ready at once: no polling round trip
    return EpisodeStart(utterance if utterance is not None else await _wait_ready(page), ticks)


async def _wait_ready(page: Any) -> str:
    for _ in range(_READY_ATTEMPTS):
        utterance = await page.evaluate(f"() => WOB_TASK_READY ? {_UTTERANCE_JS} : null")
        if utterance is not None:
            return utterance
        await asyncio.sleep(_READY_POLL_S)
    raise MiniWoBError(f"the MiniWoB page {page.url} did not become ready (WOB_TASK_READY stayed false).")


# Tasks whose page keeps state across the official env's re-seed that a fresh load would not have; they
# reload every episode (the isolation test finds them: a re-seeded page must read as a freshly loaded one).
# Found by bench/miniwob_sweep.py --isolation: jQuery UI datepickers keep the month last shown.
RELOAD_TASKS: frozenset[str] = frozenset({"book-flight", "book-flight-nodelay", "choose-date", "choose-date-easy",
                                          "choose-date-medium"})


async def reseed_episode(page: Any, seed: int | str, mode: str = "train", virtual_clock: bool = True,
                         ticks: int | None = None) -> EpisodeStart:
    """Begin the next episode on an already loaded task page (the official env's reset). `ticks`: the virtual
    clock's ticks now, when the caller counted them (else they are read from the page)."""
    await page.mouse.move(_PARK[0], _PARK[1])
    if virtual_clock and ticks is None:
        ticks = round(await page.evaluate("() => performance.now()"))
    return await _start(page, seed, mode, before=f"({_TIDY_JS})();", ticks=ticks if virtual_clock else None)


async def read_state(page: Any) -> MiniWoBState:
    return MiniWoBState.from_page(await page.evaluate(_REWARD_JS))


# -- browsers ---------------------------------------------------------------------------------------------------

# -- the env ----------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class MiniWoBConfig:
    """How episodes run. `ms_per_action`: page time each agent reply costs on the virtual clock (the default,
    200 ms, lets 50 replies fit MiniWoB's usual 10 s limit, so `max_turns` and not the clock bounds an episode).
    `clock`: "virtual" (deterministic, the default) or "real" (wall-clock, as the official env).
    `data_mode`: MiniWoB's ``core.setDataMode`` ("train" or "test"). `max_page_chars` bounds the page text.
    `reseed`: a reset of the task already loaded re-seeds that page (as the official env does) instead of a
    fresh context and page load; tasks in `RELOAD_TASKS` always reload."""

    ms_per_action: int = 200
    clock: str = "virtual"
    data_mode: str = "train"
    max_page_chars: int = 6000
    reseed: bool = True

    def __post_init__(self) -> None:
        if self.clock not in ("virtual", "real"):
            raise MiniWoBError(f"clock must be 'virtual' or 'real', got {self.clock!r}.")
        if isinstance(self.ms_per_action, bool) or not isinstance(self.ms_per_action, int) or self.ms_per_action < 0:
            raise MiniWoBError(f"ms_per_action must be an int >= 0 (page milliseconds per reply), "
                               f"got {self.ms_per_action!r}.")
        if self.data_mode not in ("train", "test"):
            raise MiniWoBError(f"data_mode must be 'train' or 'test', got {self.data_mode!r}.")


class MiniWoBEnv:
    """One agent solves one MiniWoB++ task page per episode; see the module docstring for the contract.

    Pass `browser` (a started or unstarted `ChromiumBrowser`) to use that one; the env then leaves it open in
    `close()`. Otherwise the env takes a Chromium from the loop's `BrowserPool` on the first reset, keeps it for
    all its episodes (a fresh browser context each) and gives it back in `close()`.
    """

    possible_agents = (AGENT,)

    def __init__(self, *, browser: Any = None, **config: Any):
        self.config = MiniWoBConfig(**config)
        self._own_browser = browser is None
        self._browser = browser
        self._server: PageServer | None = None
        self._task_name = ""
        self._instruction = ""
        self._page: Any = None  # the page this env loaded last, which a reset of the same task may re-seed
        self._saved_settings: dict[str, Any] | None = None
        self._ticks: int | None = None  # the virtual clock's ticks on the loaded page (only our run_for moves them)
        self._closed = False

    async def reset(self, task: Task, seed: int) -> dict[str, str]:
        name = task_name(task)
        page_seed = task.env_kwargs.get("seed", seed)
        browser = await self._ensure_browser()
        if self._server is None:
            self._server = PageServer()
        if self._saved_settings is None:  # a shared browser comes with its own; close() puts them back
            self._saved_settings = {key: getattr(browser, key) for key in (*_EPISODE_SETTINGS, "state", "drag_pace")}
        for key, value in _EPISODE_SETTINGS.items():
            setattr(browser, key, value)
        browser.state = name in _state_tasks()
        virtual = self.config.clock == "virtual"
        browser.drag_pace = self._drag_pace if virtual else None
        page = browser.page
        if (self.config.reseed and name not in RELOAD_TASKS and page is not None and page is self._page
                and self._task_name == name and not page.is_closed() and page.url == self._server.url(name)):
            # the official env's reset: the loaded page starts a new episode with the new seed
            started = await reseed_episode(page, page_seed, self.config.data_mode, virtual, self._ticks)
        else:
            await browser.reset(self._server.url(name), allowed_origin=self._server.origin,
                                before_load=install_clock if virtual else None, observe=False)
            self._page = browser.page
            started = await start_episode(browser.page, page_seed, self.config.data_mode, virtual)
        self._task_name = name
        self._ticks = started.ticks
        self._instruction = started.utterance
        return {AGENT: self._render(await browser.observe(), first=True)}

    async def step(self, actions: Mapping[str, str]) -> StepResult:
        from agentrl.environments.web.browser import BadAction, parse_action

        browser = self._browser
        action = parse_action(actions[AGENT])
        if self.config.clock == "virtual" and self.config.ms_per_action:
            # the reply's thinking time and the check that it did not end the episode, in one call
            before = MiniWoBState.from_page(await browser.page.evaluate(_THINK_JS, self.config.ms_per_action))
            if self._ticks is not None:
                self._ticks += self.config.ms_per_action
        else:
            before = await read_state(browser.page)
        if before.done:  # time ran out before the action: the page ended it
            obs, valid = None, not isinstance(action, BadAction)
        elif isinstance(action, BadAction):
            obs, valid = await browser.observe(action.reason), False
        elif action.kind in ("goto", "back"):  # leaving the task's page would end the episode without its reward
            obs, valid = await browser.observe(f"{action.kind}(...) is not available: a MiniWoB++ task is this one "
                                               "page"), False
        else:
            obs = await browser.act(action)
            valid = obs.error is None
        # the walk of the observation just made read the reward globals too (one round trip less per step)
        state = MiniWoBState.from_page(browser.last_extra) if obs is not None and browser.last_extra \
            else await read_state(browser.page)
        ended = state.done or (not isinstance(action, BadAction) and action.ends_episode)
        info = {**state.as_info(), "valid_action": valid, "elapsed_ms": state.elapsed_ms}
        return StepResult(
            obs={} if ended else {AGENT: self._render(obs, first=False)},
            rewards={AGENT: state.reward if state.done else 0.0},
            terminated={AGENT: ended},
            truncated={AGENT: False},
            infos={AGENT: info},
        )

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            # a shared browser gets its own settings back; a pooled one too, so that no drag_pace of this closed
            # env stays on it
            if self._browser is not None and self._saved_settings is not None:
                for key, value in self._saved_settings.items():
                    setattr(self._browser, key, value)
            if self._own_browser and self._browser is not None:
                browser_pool().release(self._browser, **BROWSER_SETTINGS)
                self._browser = None
        finally:
            if self._server is not None:
                self._server.close()
                self._server = None

    async def _ensure_browser(self) -> Any:
        if self._closed:
            raise MiniWoBError("reset() after close(); make a new env.")
        if self._browser is None:
            self._browser = await browser_pool().acquire(**BROWSER_SETTINGS)
        return self._browser

    async def _drag_pace(self) -> None:
        """A frame of page time after a drag's intermediate move (`_PACE_JS`), counted in the episode's ticks."""
        await self._browser.page.evaluate(_PACE_JS)
        if self._ticks is not None:
            self._ticks += _FRAME_TICKS

    def _render(self, obs: Any, first: bool) -> str:
        # Our own header instead of Observation.render(): the page url carries the server's random port,
        # which would make two runs of the same seed differ.
        from agentrl.environments.web.actions import POINTER_ACTION_HELP

        lines = [f"MiniWoB++ task: {self._task_name}", f"Instruction: {self._instruction}"]
        if obs.error:
            lines.append(f"Action error: {obs.error}")
        text = obs.text
        if len(text) > self.config.max_page_chars:
            text = text[:self.config.max_page_chars] + "\n... (page cut)"
        lines += ["----", text]
        if first:
            lines += ["----", POINTER_ACTION_HELP]
        return "\n".join(lines)


def task_name(task: Task) -> str:
    name = task.env_kwargs.get("task")
    if not isinstance(name, str) or not (html_dir() / "miniwob" / f"{name}.html").exists():
        raise MiniWoBError(f"task {task.id!r}: env_kwargs['task'] must name a MiniWoB++ page such as "
                           f"'click-button', got {name!r}. Known pages: {', '.join(task_names())}.")
    return name


# -- tasks, rubric --------------------------------------------------------------------------------------------

def tasks(split: str = "train") -> list[Task]:
    """(task, seed) pairs over `TASKS`: seeds 0-19 for "train", 1000-1004 for "test"."""
    if split not in SPLIT_SEEDS:
        raise MiniWoBError(f"unknown split {split!r}; use one of {sorted(SPLIT_SEEDS)}.")
    return [Task(id=f"{name}/seed{seed}", env_kwargs={"task": name, "seed": seed},
                 reference={"task": name, "seed": seed}, split=split)
            for seed in SPLIT_SEEDS[split] for name in TASKS]


def miniwob_reward(info: Mapping[str, Any]) -> float | None:
    """MiniWoB's own time-discounted reward, as the page reported it at the last step."""
    return float(info["miniwob_reward"]) if "miniwob_reward" in info else None


def miniwob_raw_reward(info: Mapping[str, Any]) -> float | None:
    """MiniWoB's own raw (undiscounted) reward, as the page reported it at the last step."""
    return float(info["miniwob_raw_reward"]) if "miniwob_raw_reward" in info else None


def valid_action(info: Mapping[str, Any]) -> float | None:
    """1 when the reply parsed as an action and the browser performed it, else 0."""
    return float(bool(info["valid_action"])) if "valid_action" in info else None


def rubric() -> Rubric:
    # The env's step reward is the same discounted reward as the outcome term, so it is not counted twice.
    return Rubric(turn={"valid_action": (valid_action, 0.0)},
                  outcome={"miniwob": miniwob_reward, "miniwob_raw": (miniwob_raw_reward, 0.0)},
                  env_weight=0.0)
