"""The real-browser backend: headless Chromium (Debian's binary) driven by Playwright over CDP, and a pool
that reuses its processes.

Processes: `ChromiumBrowser` starts its own chromium process (one per instance, in its own process group)
and connects Playwright to it over CDP; each `reset` opens a fresh browser context (cookies, storage, history)
and closes the previous one. `close()` stops the context, the connection and the process group; a finalizer
kills the process group if an instance is dropped without `close()`, and the kernel kills it if this Python
process dies. `live_chromium_pids()` lists the chromium processes started by this module that are still
running (tests assert it is empty at the end). MiniWoB-style pages can reach the Playwright page through
`ChromiumBrowser.page`.

`BrowserPool` (one per event loop, `browser_pool()`) hands a chromium to one env at a time and keeps a
returned one up for a moment, so the next env with the same settings reuses the process.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Self

from agentrl.environments.web.actions import Action, BadAction, act_and_observe, key_name
from agentrl.environments.web.loopback import check_goto, is_loopback_url, origin_of
from agentrl.environments.web.page import (
    BLOCK_TAGS,
    HANDLER_MARK_JS,
    INTERACTIVE_ROLES,
    SKIP_TAGS,
    TEXT_INPUTS,
    WALK_JS,
    BrowserError,
    Element,
    Observation,
    compose_text,
)

CHROMIUM = os.environ.get("AGENTRL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--no-proxy-server",
                  "--disable-extensions", "--mute-audio", "--remote-debugging-port=0",
                  # a back() restored from the back-forward cache fires no load event to wait for
                  "--disable-features=BackForwardCache")
PROFILE_PREFIX = "agentrl-chromium-"  # marks the processes this module starts (their --user-data-dir)

_LAUNCHED: dict[int, str] = {}  # pid -> profile dir of every chromium this process started and not yet reaped
_EVER_STARTED: set[str] = set()  # every profile dir ever used, so a leak is found after close() forgot it


def started_profiles() -> tuple[str, ...]:
    """The profile dirs (``--user-data-dir``) of every chromium this process ever started; a
    process whose command line holds one was started by this module."""
    return tuple(_EVER_STARTED)


def live_chromium_pids() -> list[int]:
    """Pids of chromium processes (any of their children included) started by this module and still alive."""
    profiles = set(_EVER_STARTED)
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(p in cmd for p in profiles):
            alive.append(int(entry))
    return alive


def _die_with_parent() -> None:
    """In the child before exec: the kernel kills chromium if this Python process dies without closing it
    (a killed Ray actor runs no finalizer); chromium's helpers exit when their browser process is gone."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _kill_group(pid: int, profile: str) -> None:
    """Kill a chromium process group and remove its profile; safe to call twice (finalizer and close)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    _LAUNCHED.pop(pid, None)
    shutil.rmtree(profile, ignore_errors=True)


class ChromiumBrowser:
    """Real headless Chromium (Debian's binary) driven by Playwright over CDP. See the module docstring.

    `screenshot=True` adds a PNG to every observation. `extra_selector` (CSS) marks more elements as
    interactive, such as MiniWoB's clickable spans. `timeout_s` bounds each action. The walk options (off by
    default, so a plain site reads as in the text browser; MiniWoB turns them on): `boxes` adds each element's
    and text line's viewport box (``box=[x,y,w,h]``), `handlers` makes elements with script click handlers
    or a pointer cursor controls, `svg` makes SVG shapes controls, `state` adds each element's state (classes,
    disabled, focus, colour, scroll position, value range; ``state="..."``) and shows empty drawn elements as
    their classes. `handlers` takes effect at the next reset.
    """

    def __init__(self, *, screenshot: bool = False, extra_selector: str = "", timeout_s: float = 5.0,
                 allow_file_urls: bool = False, viewport: tuple[int, int] = (1024, 768),
                 executable: str = CHROMIUM, boxes: bool = False, handlers: bool = False, svg: bool = False,
                 state: bool = False):
        self.screenshot = screenshot
        self.extra_selector = extra_selector
        self.boxes, self.handlers, self.svg = boxes, handlers, svg
        self.state = state
        # `observe_extra`: a JS function source evaluated with each walk, in the same round trip; its result
        # is `last_extra` (MiniWoB reads its reward globals this way after every action)
        self.observe_extra = ""
        self.last_extra: Any = None
        # `drag_pace`: an optional async callable awaited after each intermediate move of a drag. A page on a
        # virtual clock (MiniWoB) passes no time between moves by itself, while a real mouse's moves are apart
        # in time, and drag libraries refresh their state on timers between them; MiniWoB sets it to run a
        # frame of page time. None: the moves go back to back (a real clock runs on meanwhile anyway).
        self.drag_pace: Callable[[], Awaitable[None]] | None = None
        self.timeout_ms = int(timeout_s * 1000)
        self.allow_file_urls = allow_file_urls
        self.viewport = {"width": viewport[0], "height": viewport[1]}
        self.executable = executable
        self.allowed_origin: str | None = None
        self.blocked: list[str] = []  # urls aborted by the loopback rule in this context
        self._proc: subprocess.Popen | None = None
        self._pw: Any = None
        self._browser: Any = None
        self._context: Any = None
        self._page: Any = None
        self._ids: set[int] = set()
        self._finalizer: weakref.finalize | None = None
        self._start_lock = asyncio.Lock()
        self._closed = False

    # lifecycle
    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def page(self) -> Any:
        """The Playwright page of the current episode (None before the first reset)."""
        return self._page

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def alive(self) -> bool:
        """Whether the chromium process is running (False before start, after close, or once it was killed)."""
        return self._proc is not None and self._proc.poll() is None

    async def start(self) -> None:
        """Start chromium and connect Playwright; idempotent. `reset` calls it."""
        async with self._start_lock:
            if self._closed:
                raise BrowserError("this ChromiumBrowser was closed; make a new one.")
            if self._browser is not None:
                return
            if not os.path.exists(self.executable):
                raise BrowserError(f"chromium not found at {self.executable}; run launch/setup_chromium.sh "
                                   "(apt-get install chromium) or set AGENTRL_CHROMIUM.")
            from playwright.async_api import async_playwright

            profile = tempfile.mkdtemp(prefix=PROFILE_PREFIX)
            self._proc = subprocess.Popen(  # noqa: ASYNC220
                [self.executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                start_new_session=True,  # own process group: one killpg reaches every child
                preexec_fn=_die_with_parent)  # noqa: PLW1509
            _LAUNCHED[self._proc.pid] = profile
            _EVER_STARTED.add(profile)
            self._finalizer = weakref.finalize(self, _kill_group, self._proc.pid, profile)
            try:
                endpoint = await asyncio.wait_for(asyncio.to_thread(self._read_endpoint), 60)
                self._pw = await async_playwright().start()
                self._browser = await self._pw.chromium.connect_over_cdp(endpoint)
            except BaseException as e:
                await self._shutdown()
                if isinstance(e, asyncio.TimeoutError):
                    raise BrowserError("chromium did not print its DevTools endpoint within 60 s.") from e
                raise

    def _read_endpoint(self) -> str:
        assert self._proc is not None and self._proc.stderr is not None
        seen = []
        for raw in self._proc.stderr:
            line = raw.decode(errors="replace")
            seen.append(line)
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                # keep draining stderr so chromium never blocks on a full pipe
                import threading
                threading.Thread(target=self._drain, daemon=True).start()
                return m.group(1)
        raise BrowserError("chromium exited before it was ready:\n" + "".join(seen[-20:]))

    def _drain(self) -> None:
        proc = self._proc
        if proc is not None and proc.stderr is not None:
            try:
                for _ in proc.stderr:
                    pass
            except (OSError, ValueError):
                pass

    async def close(self) -> None:
        """Close the context, the Playwright connection and the chromium process group. Idempotent."""
        self._closed = True
        await self._shutdown()

    async def _shutdown(self) -> None:
        for closer in (self._close_context, self._close_browser):
            try:
                await asyncio.wait_for(closer(), 10)
            except Exception:  # the process group is killed below whatever happened here  # noqa: BLE001, S110
                pass
        if self._pw is not None:
            pw, self._pw = self._pw, None
            try:
                await asyncio.wait_for(pw.stop(), 10)
            except Exception:  # noqa: BLE001, S110
                pass
        if self._finalizer is not None:
            self._finalizer()  # kills the group and removes the profile, exactly once
            self._finalizer = None
        if self._proc is not None and self._proc.stderr is not None:
            self._proc.stderr.close()
        self._proc = None

    async def _close_context(self) -> None:
        ctx, self._context, self._page = self._context, None, None
        if ctx is not None:
            await ctx.close()

    async def _close_browser(self) -> None:
        b, self._browser = self._browser, None
        if b is not None:
            await b.close()

    # episodes
    async def reset(self, url: str, allowed_origin: str | None = None, before_load: Any = None,
                    observe: bool = True) -> Observation | None:
        """A fresh context (no cookies, storage or history) on `url`. `before_load` (an async function of the
        new page) runs before the page loads; `observe=False` skips the walk of the loaded page (returns None)."""
        if not is_loopback_url(url, self.allow_file_urls):
            raise BrowserError(f"reset url {url!r} is not on loopback; serve the site on 127.0.0.1.")
        await self.start()
        await self._close_context()
        self.allowed_origin = allowed_origin or origin_of(url)
        self.blocked = []
        self._context = await self._browser.new_context(viewport=self.viewport, service_workers="block")
        self._context.set_default_timeout(self.timeout_ms)
        await self._context.route("**/*", self._route)
        if self.handlers:
            await self._context.add_init_script(HANDLER_MARK_JS)
        self._page = await self._context.new_page()
        if before_load is not None:
            await before_load(self._page)
        # a first load may fetch a page's libraries; on a loaded machine that takes longer than one action
        await self._page.goto(url, wait_until="load", timeout=max(self.timeout_ms, _LOAD_TIMEOUT_MS))
        return await self.observe() if observe else None

    async def _route(self, route: Any) -> None:
        url = route.request.url
        if is_loopback_url(url, self.allow_file_urls):
            await route.continue_()
        else:
            self.blocked.append(url)
            await route.abort("blockedbyclient")

    async def observe(self, error: str | None = None) -> Observation:
        """Walk the current page into an Observation (retried while a navigation is in flight)."""
        if self._page is None:
            raise BrowserError("observe() before reset(); call reset(url) first.")
        args = [sorted(SKIP_TAGS), sorted(BLOCK_TAGS), sorted(INTERACTIVE_ROLES), sorted(TEXT_INPUTS),
                self.extra_selector, {"boxes": self.boxes, "handlers": self.handlers, "svg": self.svg,
                                     "state": self.state}]
        for attempt in range(5):
            try:
                await self._settle()
                if self.observe_extra:  # MiniWoB pages: boxes must not depend on when icons load or hover lands
                    # one round trip when every image has loaded and the hover state is current (the usual
                    # case); else wait for the images / re-send the mouse where it rests, then walk
                    images = hover = True
                    both = await self._page.evaluate(_WALK_AND_EXTRA_JS, [args, self.observe_extra, images, hover])
                    while "wait" in both:
                        if both["wait"] == "images":
                            await self._images_ready()
                            images = False
                        else:
                            await self._page.mouse.move(*both["at"])
                            hover = False
                        both = await self._page.evaluate(_WALK_AND_EXTRA_JS, [args, self.observe_extra, images, hover])
                    raw, self.last_extra = both["walk"], both["extra"]
                else:
                    raw = await self._page.evaluate(WALK_JS, args)
                break
            except Exception as e:  # "execution context was destroyed": a navigation started; look again
                if attempt == 4:
                    raise BrowserError(f"could not read the page at {self._page.url}: {e}") from e
                await asyncio.sleep(0.05)
        elements = _elements_from_js(raw["elements"])
        self._ids = {e.id for e in elements}
        shot = await self._page.screenshot(type="png") if self.screenshot else None
        return Observation(text=compose_text(raw["lines"], elements), url=self._page.url, title=raw["title"],
                           elements=elements, screenshot=shot, error=error)

    async def _images_ready(self) -> None:
        try:
            await asyncio.wait_for(self._page.evaluate(_IMAGES_READY_JS), self.timeout_ms / 1000)
        except TimeoutError:
            pass  # read the page as it is

    async def _settle(self) -> None:
        """Wait for a navigation an action started; a page that never finishes loading is read as it is."""
        try:
            await self._page.wait_for_load_state("load", timeout=self.timeout_ms)
        except Exception as e:
            if "Timeout" not in type(e).__name__:
                raise

    async def act(self, action: Action | BadAction) -> Observation:
        """Perform a page action and observe the result; problems come back in `Observation.error`."""
        if self._page is None:
            raise BrowserError("act() before reset(); call reset(url) first.")
        return await act_and_observe(action, self._ids, self.observe, self._perform)

    async def _perform(self, action: Action) -> str | None:
        page = self._page
        loc = _ById(page, action.target) if action.target is not None else None
        kind = action.kind
        if kind in ("click", "dblclick"):
            await self._click(loc, action, clicks=2 if kind == "dblclick" else 1)
        elif kind in ("click_xy", "dblclick_xy"):
            await page.mouse.click(*action.xy, click_count=2 if kind == "dblclick_xy" else 1)
        elif kind == "hover":
            await page.mouse.move(*(await self._point(loc))[:2])
        elif kind == "hover_xy":
            await page.mouse.move(*action.xy)
        elif kind in ("drag", "drag_xy"):
            if kind == "drag":
                to = _ById(page, action.to)
                (x1, y1, _), (x2, y2, _) = await self._point(loc), await self._point(to)
            else:
                x1, y1, x2, y2 = action.xy
            # a mouse down inside a text selection left by an earlier drag would start dragging that text (and
            # swallow the mouse up), so each drag starts with no selection
            await page.evaluate("() => { const s = window.getSelection(); if (s) s.removeAllRanges(); }")
            await page.mouse.move(x1, y1)
            await page.mouse.down()
            if self.drag_pace is None:
                await page.mouse.move(x2, y2, steps=_DRAG_STEPS)
            else:  # the points Playwright's `steps` gives, each followed by the pace
                for i in range(1, _DRAG_STEPS + 1):
                    await page.mouse.move(x1 + (x2 - x1) * i / _DRAG_STEPS, y1 + (y2 - y1) * i / _DRAG_STEPS)
                    await self.drag_pace()
            await page.mouse.up()
        elif kind == "type":
            if loc is not None:
                await self._click(loc, action, clicks=1)
                # replace what the field holds, as fill() would, but with real keystrokes the page can hear
                await loc.evaluate("el => { if (el.select) el.select(); else if (el.isContentEditable) "
                                   "document.execCommand('selectAll'); }")
                if not action.text:
                    await page.keyboard.press("Backspace")
            if action.text:
                await page.keyboard.type(action.text)
        elif kind == "select":
            return await self._select(loc, action)
        elif kind == "press":
            # a locator press (unlike page.keyboard) waits for a navigation it starts, such as a form submit
            focused = page.locator("*:focus")
            if await focused.count():
                await focused.first.press(key_name(action.text or ""), timeout=self.timeout_ms)
            else:
                await page.keyboard.press(key_name(action.text or ""))
        elif kind == "scroll":
            dy = 600 if action.text == "down" else -600
            if loc is not None:
                await loc.evaluate("(el, dy) => el.scrollBy(0, Math.sign(dy) * Math.max(40, el.clientHeight * 0.8))",
                                   dy)
            else:
                await page.mouse.wheel(0, dy)
        elif kind == "back":
            if await page.go_back(wait_until="load") is None:
                return "back() did nothing: this is the first page of the episode"
        elif kind == "goto":
            target, error = check_goto(action.text or "", page.url, self.allowed_origin)
            if error:
                return error
            await page.goto(target, wait_until="load")
        return None

    async def _point(self, loc: Any) -> tuple[float, float, bool]:
        """Where a real mouse would hit an element, scrolled into view: (x, y, whether that point reaches the
        element itself rather than something covering it)."""
        found = await loc.evaluate(_POINT_JS)
        if found is None:
            raise BrowserError("the element has no size on the page (nothing to point at)")
        return found["x"], found["y"], found["hit"]

    async def _click(self, loc: Any, action: Action, clicks: int) -> None:
        """A real mouse click at a point that reaches the element; when another element covers it
        everywhere (or it has no size), the DOM click the official MiniWoB++ env uses (element.click() and
        focus; mousedown, mouseup and click events for SVG), so whatever that env can click is clickable."""
        found = await loc.evaluate(_POINT_JS)
        if found is not None and found["hit"]:
            if self.boxes:  # single-page tasks: the raw mouse at the point, fewest round trips
                await self._page.mouse.click(found["x"], found["y"], click_count=clicks)
            else:  # a site's links: Playwright's click waits for the navigation it starts
                await loc.locator().click(click_count=clicks, timeout=self.timeout_ms)
            return
        for _ in range(clicks):
            await loc.evaluate(_DOM_CLICK_JS)

    async def _select(self, loc: Any, action: Action) -> str | None:
        options = await loc.evaluate("el => el.tagName === 'SELECT' ? Array.from(el.options).map(o => "
                                     "[o.value, o.textContent.split(/\\s+/).filter(Boolean).join(' ')]) : null")
        if options is None:
            return f"[{action.target}] is not a select box; use click({action.target}) or type(...)"
        for i, (value, label) in enumerate(options):
            if action.text in (label, value) or (action.text or "").lower() == label.lower():
                # a multi-select list keeps what is picked: select() adds the option, or drops it if picked
                if not await loc.evaluate(_TOGGLE_MULTIPLE_JS, i):
                    await loc.locator().select_option(value=value, timeout=self.timeout_ms)
                return None
        return (f"[{action.target}] has no option {action.text!r}; options are "
                f"{json.dumps([label for _, label in options], ensure_ascii=False)}")


# Before the walk, wait for the images the page shows to load (img elements and CSS content/background
# urls): an icon that has not loaded yet has no size, so the layout (and every box) would depend on timing.
# No timer bounds the wait (a virtual clock stops timers); the caller's timeout does.
_IMAGE_URLS_JS = """() => {
  const urls = new Set();
  for (const img of document.images) if (!img.complete && img.src) urls.add(img.src);
  for (const el of document.querySelectorAll("*")) {
    const cs = getComputedStyle(el);
    for (const v of [cs.content, cs.backgroundImage]) {
      const m = /^url\\("?([^")]+)"?\\)$/.exec(v || ""); if (m) urls.add(m[1]);
    }
  }
  return Array.from(urls);
}"""
_IMAGES_READY_JS = f"""() => Promise.all(({_IMAGE_URLS_JS})().map(u => new Promise(done => {{
  const im = new Image(); im.onload = im.onerror = () => done(); im.src = u;
  if (im.complete) done();
}})))"""
# The walk with the extra function's result; instead, with `images` set, {wait: "images"} while an image is still
# loading (an image in the memory cache is complete as soon as its src is set), and with `hover` set,
# {wait: "hover", at} while the element under the resting mouse is not :hover. Chromium moves the hover to an
# element that appears under a still mouse (a re-rendered jQuery UI datepicker's "Prev" link after its click)
# only at its next frame, and the mouseover that lands then makes libraries restyle it (ui-state-hover: a
# border and a shifted box), so a walk before that frame read another page than a walk after it. A mouse move
# to the same point updates the hover at once. `at` is HANDLER_MARK_JS's last mouse position.
_WALK_AND_EXTRA_JS = f"""([args, extra, images, hover]) => {{
  if (images && ({_IMAGE_URLS_JS})().some(u => {{ const im = new Image(); im.src = u; return !im.complete; }}))
    return {{wait: "images"}};
  const at = window.__agentrlMouse;
  if (hover && at) {{
    const hit = document.elementFromPoint(at[0], at[1]);
    if (hit && !hit.matches(":hover")) return {{wait: "hover", at}};
  }}
  return {{walk: ({WALK_JS.strip()})(args), extra: (0, eval)(extra)()}};
}}"""


class _ById:
    """An element of the last observation, reached in one page.evaluate (a Playwright locator costs several
    round trips per call, which dominated a MiniWoB step)."""

    _CALL = ("([id, src, arg]) => { const el = document.querySelector(`[data-agentrl-id=\"${id}\"]`); "
             "if (!el) throw new Error(`element [${id}] is no longer on the page; look again`); "
             "return (0, eval)(src)(el, arg); }")

    def __init__(self, page: Any, id: int):
        self.page, self.id = page, id

    async def evaluate(self, js: str, arg: Any = None) -> Any:
        return await self.page.evaluate(self._CALL, [self.id, js, arg])

    def locator(self) -> Any:
        return self.page.locator(f'[data-agentrl-id="{self.id}"]')


_LOAD_TIMEOUT_MS = 30_000
_DRAG_STEPS = 8  # intermediate mouse moves of a drag, so drag libraries see motion between down and up
# The element's center, or else the first of a few inner points, that a hit test reaches (the element or
# something inside it); null for an element without a box.
_POINT_JS = """el => {
  el.scrollIntoView({block: "nearest", inline: "nearest"});
  const r = el.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) return null;
  const pts = [[0.5, 0.5], [0.2, 0.5], [0.8, 0.5], [0.5, 0.2], [0.5, 0.8], [0.1, 0.1], [0.9, 0.9]];
  for (const [fx, fy] of pts) {
    const x = r.left + r.width * fx, y = r.top + r.height * fy;
    const hit = document.elementFromPoint(x, y);
    if (hit && (hit === el || el.contains(hit))) return {x, y, hit: true};
  }
  return {x: r.left + r.width / 2, y: r.top + r.height / 2, hit: false};
}"""
_TOGGLE_MULTIPLE_JS = """(el, i) => {
  if (!el.multiple) return false;
  el.options[i].selected = !el.options[i].selected;
  for (const t of ["input", "change"]) el.dispatchEvent(new Event(t, {bubbles: true}));
  return true;
}"""
_DOM_CLICK_JS = """el => {
  if (el instanceof SVGElement) { for (const t of ["mousedown", "mouseup", "click"]) el.dispatchEvent(new Event(t)); }
  else { el.click(); if (el.focus) el.focus(); }
}"""


def _elements_from_js(raw: Sequence[Mapping[str, Any]]) -> tuple[Element, ...]:
    return tuple(Element(id=int(d["id"]), role=d["role"], name=d["name"], value=d["value"],
                         options=tuple(d["options"]), checked=d["checked"],
                         box=tuple(d["box"]) if d.get("box") else None, state=d.get("state")) for d in raw)


class BrowserPool:
    """Chromium processes of one event loop, handed out to one env at a time.

    An env takes a browser on its first reset (`acquire`) and gives it back in `close()` (`release`). A returned
    browser stays up for `linger_s` seconds so the next env with the same settings (`check_env` and evaluation
    loops make one env per episode) reuses the process instead of launching a new one; then it is closed. When
    the loop shuts down it cancels the wait and the browser is closed at once, so no process outlives its loop.
    """

    def __init__(self, linger_s: float = 2.0):
        self.linger_s = linger_s
        self._idle: list[tuple[tuple, ChromiumBrowser]] = []
        self._closers: dict[int, asyncio.Task] = {}

    async def acquire(self, **settings: Any) -> ChromiumBrowser:
        """A started-or-startable Chromium made with `settings` (ChromiumBrowser's keyword arguments)."""
        key = tuple(sorted(settings.items()))
        for entry in list(self._idle):
            if entry[0] != key:
                continue
            self._idle.remove(entry)
            closer = self._closers.pop(id(entry[1]), None)
            if closer is not None:
                closer.cancel()  # it sees the browser is no longer idle and leaves it open
            if entry[1].alive:
                return entry[1]
            if entry[1].pid is not None:  # killed while idle or mid-episode: reap it, hand out a fresh one
                await entry[1].close()
        return ChromiumBrowser(**settings)

    def release(self, browser: ChromiumBrowser, **settings: Any) -> None:
        """Give back a browser that `acquire(**settings)` handed out."""
        self._idle.append((tuple(sorted(settings.items())), browser))
        self._closers[id(browser)] = asyncio.get_running_loop().create_task(self._close_later(browser))

    async def _close_later(self, browser: ChromiumBrowser) -> None:
        try:
            await asyncio.sleep(self.linger_s)
        finally:
            idle = [entry for entry in self._idle if entry[1] is browser]
            if idle:
                self._idle.remove(idle[0])
                self._closers.pop(id(browser), None)
                await browser.close()


_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, BrowserPool] = weakref.WeakKeyDictionary()


def browser_pool() -> BrowserPool:
    """The pool of the running event loop (Playwright objects belong to the loop that made them)."""
    loop = asyncio.get_running_loop()
    if loop not in _POOLS:
        _POOLS[loop] = BrowserPool()
    return _POOLS[loop]
