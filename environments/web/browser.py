"""Two browsers behind one interface: real headless Chromium and a fast script-free text browser.

The contract (what an env built on either backend relies on)::

    browser = ChromiumBrowser()              # or TextBrowser(); nothing starts until the first reset
    obs = await browser.reset("http://127.0.0.1:8123/", allowed_origin="http://127.0.0.1:8123")
    action = parse_action(model_reply)       # Action or BadAction; never raises
    obs = await browser.act(action)          # page actions; answer/stop are for the env to handle
    obs.render()                             # the text the model sees
    await browser.close()                    # idempotent; also `async with ChromiumBrowser() as b:`

Observations (`Observation`) are frozen: the page as compact text in which every interactive element
carries an id, such as ``[12] button "Buy now"``, plus url, title, an optional PNG screenshot and the error
of the last action (None when it worked). Ids number the interactive elements in document order, so two
identical renders give identical ids; they are valid until the next observation. `Observation.elements`
lists them (id, role, name, value, options) for scripted policies.

Both backends walk the page with the same rules (`_WALK_JS` in Chromium, `_Walker` for parsed HTML), so a
script-free page gives the same text in both. Chromium also drops elements that are not rendered.

Actions (`ACTION_HELP` is the grammar shown to models): click(id), type(id, "text"), select(id, "option"),
press("Enter"), scroll(up|down), back(), goto("url"), answer("text"), stop(). A reply may contain prose; the
last action call in it counts. Unknown ids, disallowed urls and failed actions give an observation whose
`error` says what was wrong and how to write it; nothing raises on bad model output.

Network: only loopback. Chromium aborts every request whose host is not 127.0.0.1/localhost/::1 (and
file: urls unless `allow_file_urls`); the text browser refuses to fetch anything else. `goto` is limited to
the origin given at reset.

Processes: `ChromiumBrowser` starts its own chromium process (one per instance, in its own process group)
and connects Playwright to it over CDP; each `reset` opens a fresh browser context (cookies, storage, history)
and closes the previous one. `close()` stops the context, the connection and the process group; a finalizer
kills the process group if an instance is dropped without `close()`. `live_chromium_pids()` lists the chromium
processes started by this module that are still running (tests assert it is empty at the end).
MiniWoB-style pages can reach the Playwright page through `ChromiumBrowser.page`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html.parser
import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, Self

from agentrl.errors import AgentRLError

CHROMIUM = os.environ.get("AGENTRL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--no-proxy-server",
                  "--disable-extensions", "--mute-audio", "--remote-debugging-port=0",
                  # a back() restored from the back-forward cache fires no load event to wait for
                  "--disable-features=BackForwardCache")
PROFILE_PREFIX = "agentrl-chromium-"  # marks the processes this module starts (their --user-data-dir)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

ACTION_HELP = (
    "Reply with one action, for example: click(3) | type(5, \"red shoes\") | select(7, \"large\") | "
    "press(\"Enter\") | scroll(down) | back() | goto(\"/path\") | answer(\"text\") | stop(). "
    "Numbers are the [id]s shown on the page."
)


class BrowserError(AgentRLError):
    """The browser itself could not start or was used wrongly (never raised for bad model actions)."""


# -- records -----------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Element:
    """One interactive element of an observation."""

    id: int
    role: str
    name: str
    value: str | None = None
    options: tuple[str, ...] = ()
    checked: bool | None = None

    def line(self) -> str:
        parts = [f"[{self.id}] {self.role} {json.dumps(self.name, ensure_ascii=False)}"]
        if self.value is not None:
            parts.append(f"value={json.dumps(self.value, ensure_ascii=False)}")
        if self.options:
            parts.append("options=" + json.dumps(list(self.options), ensure_ascii=False))
        if self.checked is not None:
            parts.append("checked" if self.checked else "unchecked")
        return " ".join(parts)


@dataclasses.dataclass(frozen=True)
class Observation:
    """What one look at the page gives: compact text with element ids, url, title, screenshot, last error."""

    text: str
    url: str
    title: str = ""
    elements: tuple[Element, ...] = ()
    screenshot: bytes | None = dataclasses.field(default=None, repr=False)
    error: str | None = None

    def render(self, max_chars: int | None = None, base_url: str | None = None) -> str:
        """The text an LLM sees. `max_chars` cuts the page text (not the header) to bound the prompt;
        `base_url` (an origin) is cut from the url, so a site on a random port renders the same every run."""
        body = self.text if max_chars is None or len(self.text) <= max_chars else \
            self.text[:max_chars] + "\n... (page cut; scroll(down) or search to see more)"
        url = self.url
        if base_url and url.startswith(base_url):
            url = url[len(base_url):] or "/"
        head = f"URL: {url}\nTitle: {self.title}\n"
        if self.error:
            head += f"Action error: {self.error}\n"
        return head + "----\n" + body

    def element(self, id: int) -> Element | None:
        return next((e for e in self.elements if e.id == id), None)

    def find(self, role: str | None = None, name: str | None = None, contains: str | None = None) -> Element | None:
        """The first element with this role and exact name (or name containing `contains`)."""
        for e in self.elements:
            if role is not None and e.role != role:
                continue
            if name is not None and e.name != name:
                continue
            if contains is not None and contains.lower() not in e.name.lower():
                continue
            return e
        return None

    def with_error(self, error: str | None) -> Observation:
        return dataclasses.replace(self, error=error)


# -- action grammar ----------------------------------------------------------------------------------------

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


# -- the page walk (shared rules) ---------------------------------------------------------------------------

SKIP_TAGS = frozenset({"script", "style", "head", "template", "noscript", "title", "meta", "link", "svg",
                       "iframe", "object"})
BLOCK_TAGS = frozenset({"address", "article", "aside", "blockquote", "br", "dd", "details", "dialog", "div",
                        "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
                        "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
                        "summary", "table", "tbody", "thead", "tfoot", "tr", "ul", "body", "html"})
INTERACTIVE_ROLES = frozenset({"button", "link", "checkbox", "radio", "tab", "option", "menuitem", "textbox",
                               "combobox", "switch", "searchbox", "slider", "spinbutton", "listbox"})
TEXT_INPUTS = frozenset({"text", "search", "email", "number", "password", "tel", "url", "date", "time", ""})


def _role(tag: str, attrs: Mapping[str, str]) -> str:
    explicit = (attrs.get("role") or "").strip().lower()
    if explicit in INTERACTIVE_ROLES:
        return explicit
    if tag == "a":
        return "link"
    if tag == "button":
        return "button"
    if tag == "select":
        return "combobox"
    if tag == "textarea":
        return "textbox"
    if tag == "input":
        kind = (attrs.get("type") or "text").lower()
        if kind in ("submit", "button", "reset", "image"):
            return "button"
        if kind in ("checkbox", "radio"):
            return kind
        return "textbox" if kind in TEXT_INPUTS else kind
    return "clickable"


def _collapse(text: str) -> str:
    return " ".join(text.split())


# The same walk in the page. Returns {lines, elements}; tags every element with data-agentrl-id.
_WALK_JS = r"""
([skip, block, roles, textInputs, extra]) => {
  skip = new Set(skip); block = new Set(block); roles = new Set(roles); textInputs = new Set(textInputs);
  const lines = []; const elements = []; let buf = [];
  const flush = () => { const t = buf.join(" ").split(/\s+/).filter(Boolean).join(" "); if (t) lines.push(t); buf = []; };
  const collapse = s => (s || "").split(/\s+/).filter(Boolean).join(" ");
  document.querySelectorAll("[data-agentrl-id]").forEach(e => e.removeAttribute("data-agentrl-id"));
  const hidden = el => {
    if (el.hasAttribute("hidden") || el.getAttribute("aria-hidden") === "true") return true;
    if (el.tagName === "INPUT" && (el.getAttribute("type") || "").toLowerCase() === "hidden") return true;
    const st = (el.getAttribute("style") || "").replace(/\s+/g, "").toLowerCase();
    if (st.includes("display:none") || st.includes("visibility:hidden")) return true;
    if (el.checkVisibility && !el.checkVisibility({visibilityProperty: true})) return true;
    return false;
  };
  const interactive = el => {
    const tag = el.tagName.toLowerCase();
    if (tag === "a") return el.hasAttribute("href");
    if (["button", "input", "select", "textarea"].includes(tag)) return true;
    if (roles.has((el.getAttribute("role") || "").trim().toLowerCase())) return true;
    if (el.hasAttribute("onclick")) return true;
    return !!(extra && el.matches(extra));
  };
  const role = el => {
    const tag = el.tagName.toLowerCase(); const r = (el.getAttribute("role") || "").trim().toLowerCase();
    if (roles.has(r)) return r;
    if (tag === "a") return "link"; if (tag === "button") return "button";
    if (tag === "select") return "combobox"; if (tag === "textarea") return "textbox";
    if (tag === "input") {
      const k = (el.getAttribute("type") || "text").toLowerCase();
      if (["submit", "button", "reset", "image"].includes(k)) return "button";
      if (k === "checkbox" || k === "radio") return k;
      return textInputs.has(k) ? "textbox" : k;
    }
    return "clickable";
  };
  const labelFor = el => {
    if (!el.id) return "";
    for (const l of document.querySelectorAll("label[for]")) if (l.getAttribute("for") === el.id) return collapse(l.textContent);
    return "";
  };
  const describe = el => {
    const tag = el.tagName.toLowerCase(); const r = role(el);
    const isInput = tag === "input" || tag === "select" || tag === "textarea";
    let name = collapse(el.getAttribute("aria-label"));
    if (!name && tag === "input" && r === "button") name = collapse(el.getAttribute("value")) || "Submit";
    if (!name && !isInput) name = collapse(el.textContent);
    if (!name) name = labelFor(el);
    if (!name) name = collapse(el.getAttribute("placeholder")) || collapse(el.getAttribute("title")) || collapse(el.getAttribute("name"));
    const d = {role: r, name: name, value: null, options: [], checked: null};
    if (tag === "select") {
      d.options = Array.from(el.options).map(o => collapse(o.textContent));
      const s = el.options[el.selectedIndex]; d.value = s ? collapse(s.textContent) : "";
    } else if (tag === "textarea" || (tag === "input" && r === "textbox")) { d.value = el.value; }
    else if (r === "checkbox" || r === "radio") { d.checked = !!el.checked; }
    return d;
  };
  const walk = node => {
    if (node.nodeType === 3) { buf.push(node.textContent); return; }
    if (node.nodeType !== 1) return;
    const tag = node.tagName.toLowerCase();
    if (skip.has(tag) || hidden(node)) return;
    if (interactive(node)) {
      const d = describe(node); const id = elements.length + 1;
      node.setAttribute("data-agentrl-id", String(id));
      d.id = id; elements.push(d); flush(); lines.push("\u0000" + id); return;
    }
    const isBlock = block.has(tag) || tag === "td" || tag === "th";
    if (isBlock) flush();
    for (const c of node.childNodes) walk(c);
    if (isBlock) flush();
  };
  if (document.body) walk(document.body);
  flush();
  return {lines, elements, title: document.title || ""};
}
"""


def _compose(lines: Sequence[str], elements: Sequence[Element]) -> str:
    by_id = {e.id: e for e in elements}
    out = [by_id[int(line[1:])].line() if line.startswith("\0") else line for line in lines]
    return "\n".join(out)


def _elements_from_js(raw: Sequence[Mapping[str, Any]]) -> tuple[Element, ...]:
    return tuple(Element(id=int(d["id"]), role=d["role"], name=d["name"], value=d["value"],
                         options=tuple(d["options"]), checked=d["checked"]) for d in raw)


def is_loopback_url(url: str, allow_file: bool = False) -> bool:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("http", "https", "ws", "wss"):
        return (parts.hostname or "") in LOOPBACK_HOSTS
    if parts.scheme in ("data", "about", "blob"):
        return True
    return allow_file and parts.scheme == "file"


def _origin(url: str) -> str:
    p = urllib.parse.urlsplit(url)
    return f"{p.scheme}://{p.netloc}" if p.scheme not in ("file", "data", "about") else f"{p.scheme}:"


def _check_goto(url: str, current: str, allowed_origin: str | None) -> tuple[str | None, str | None]:
    """Resolve a goto url against the current page; returns (absolute url, error)."""
    target = urllib.parse.urljoin(current, url)
    origin = allowed_origin or _origin(current)
    if _origin(target) != origin:
        return None, (f"goto({json.dumps(url)}) leaves the site; only urls on {origin} are allowed "
                      f"(a path like goto(\"/\") works)")
    return target, None


# -- Chromium ----------------------------------------------------------------------------------------------

_LAUNCHED: dict[int, str] = {}  # pid -> profile dir of every chromium this process started and not yet reaped
_EVER_STARTED: set[str] = set()  # every profile dir ever used, so a leak is found after close() forgot it


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
    interactive, such as MiniWoB's clickable spans. `timeout_s` bounds each action.
    """

    def __init__(self, *, screenshot: bool = False, extra_selector: str = "", timeout_s: float = 5.0,
                 allow_file_urls: bool = False, viewport: tuple[int, int] = (1024, 768),
                 executable: str = CHROMIUM):
        self.screenshot = screenshot
        self.extra_selector = extra_selector
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
    async def reset(self, url: str, allowed_origin: str | None = None) -> Observation:
        """A fresh context (no cookies, storage or history) on `url`."""
        if not is_loopback_url(url, self.allow_file_urls):
            raise BrowserError(f"reset url {url!r} is not on loopback; serve the site on 127.0.0.1.")
        await self.start()
        await self._close_context()
        self.allowed_origin = allowed_origin or _origin(url)
        self.blocked = []
        self._context = await self._browser.new_context(viewport=self.viewport, service_workers="block")
        self._context.set_default_timeout(self.timeout_ms)
        await self._context.route("**/*", self._route)
        self._page = await self._context.new_page()
        await self._page.goto(url, wait_until="load")
        return await self.observe()

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
                self.extra_selector]
        for attempt in range(5):
            try:
                await self._settle()
                raw = await self._page.evaluate(_WALK_JS, args)
                break
            except Exception as e:  # "execution context was destroyed": a navigation started; look again
                if attempt == 4:
                    raise BrowserError(f"could not read the page at {self._page.url}: {e}") from e
                await asyncio.sleep(0.05)
        elements = _elements_from_js(raw["elements"])
        self._ids = {e.id for e in elements}
        shot = await self._page.screenshot(type="png") if self.screenshot else None
        return Observation(text=_compose(raw["lines"], elements), url=self._page.url, title=raw["title"],
                           elements=elements, screenshot=shot, error=error)

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
        return await _act_and_observe(self, action, self._ids)

    async def _perform(self, action: Action) -> str | None:
        page = self._page
        loc = page.locator(f'[data-agentrl-id="{action.target}"]') if action.target is not None else None
        if action.kind == "click":
            await loc.click(timeout=self.timeout_ms)
        elif action.kind == "type":
            await loc.fill(action.text or "", timeout=self.timeout_ms)
        elif action.kind == "select":
            return await self._select(loc, action)
        elif action.kind == "press":
            # a locator press (unlike page.keyboard) waits for a navigation it starts, such as a form submit
            focused = page.locator("*:focus")
            if await focused.count():
                await focused.first.press(_key_name(action.text or ""), timeout=self.timeout_ms)
            else:
                await page.keyboard.press(_key_name(action.text or ""))
        elif action.kind == "scroll":
            await page.mouse.wheel(0, 600 if action.text == "down" else -600)
        elif action.kind == "back":
            if await page.go_back(wait_until="load") is None:
                return "back() did nothing: this is the first page of the episode"
        elif action.kind == "goto":
            target, error = _check_goto(action.text or "", page.url, self.allowed_origin)
            if error:
                return error
            await page.goto(target, wait_until="load")
        return None

    async def _select(self, loc: Any, action: Action) -> str | None:
        options = await loc.evaluate("el => el.tagName === 'SELECT' ? Array.from(el.options).map(o => "
                                     "[o.value, o.textContent.split(/\\s+/).filter(Boolean).join(' ')]) : null")
        if options is None:
            return f"[{action.target}] is not a select box; use click({action.target}) or type(...)"
        for value, label in options:
            if action.text in (label, value) or (action.text or "").lower() == label.lower():
                await loc.select_option(value=value, timeout=self.timeout_ms)
                return None
        return (f"[{action.target}] has no option {action.text!r}; options are "
                f"{json.dumps([label for _, label in options], ensure_ascii=False)}")


async def _act_and_observe(browser: Any, action: Action | BadAction, known_ids: set[int]) -> Observation:
    """Both backends' `act`: refusals and failures come back as the observation's error, never raised."""
    if isinstance(action, BadAction):
        return await browser.observe(action.reason)
    if action.ends_episode:
        return await browser.observe()
    if action.target is not None and action.target not in known_ids:
        return await browser.observe(_unknown_id(action, known_ids))
    try:
        error = await browser._perform(action)
    except Exception as e:  # Playwright timeouts, detached elements, bad option names, a site's broken HTML  # noqa: BLE001
        error = f"{action} failed: {_short(e)}"
    return await browser.observe(error)


def _unknown_id(action: Action, ids: set[int]) -> str:
    shown = f"ids on this page are 1..{max(ids)}" if ids else "this page has no interactive elements"
    return f"{action} names element [{action.target}], which is not on this page; {shown}"


def _short(e: BaseException) -> str:
    first = str(e).strip().splitlines()
    return (first[0] if first else type(e).__name__)[:200]


_KEYS = {"enter": "Enter", "return": "Enter", "tab": "Tab", "escape": "Escape", "esc": "Escape",
         "backspace": "Backspace", "space": " ", "arrowdown": "ArrowDown", "arrowup": "ArrowUp",
         "arrowleft": "ArrowLeft", "arrowright": "ArrowRight", "pagedown": "PageDown", "pageup": "PageUp"}


def _key_name(key: str) -> str:
    return _KEYS.get(key.strip().lower().replace(" ", ""), key)


# -- text browser ------------------------------------------------------------------------------------------

@dataclasses.dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    children: list[Any] = dataclasses.field(default_factory=list)  # _Node or str
    parent: _Node | None = None


_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                   "source", "track", "wbr"})


class _TreeBuilder(html.parser.HTMLParser):
    """A forgiving DOM: closes unclosed elements at their parent's end tag, as browsers do for the common cases."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#document", {})
        self.cur = self.root
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag, {k: (v if v is not None else "") for k, v in attrs}, parent=self.cur)
        if tag in ("p", "li", "option") and self.cur.tag == tag:  # implicit close of a sibling
            node.parent = self.cur = self.cur.parent or self.root
        self.cur.children.append(node)
        if tag == "title":
            self._in_title = True
        if tag not in _VOID:
            self.cur = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.cur.children.append(_Node(tag, {k: (v or "") for k, v in attrs}, parent=self.cur))

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        node = self.cur
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.cur = node.parent

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        self.cur.children.append(data)


def _text_of(node: _Node) -> str:
    out: list[str] = []
    stack: list[Any] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, str):
            out.append(n)
        elif n.tag not in SKIP_TAGS:
            stack.extend(reversed(n.children))
    return _collapse(" ".join(out))


def _hidden(node: _Node) -> bool:
    a = node.attrs
    if "hidden" in a or a.get("aria-hidden") == "true":
        return True
    if node.tag == "input" and (a.get("type") or "").lower() == "hidden":
        return True
    style = re.sub(r"\s+", "", a.get("style", "")).lower()
    return "display:none" in style or "visibility:hidden" in style


def _interactive(node: _Node) -> bool:
    if node.tag == "a":
        return "href" in node.attrs
    if node.tag in ("button", "input", "select", "textarea"):
        return True
    return (node.attrs.get("role") or "").strip().lower() in INTERACTIVE_ROLES or "onclick" in node.attrs


@dataclasses.dataclass
class _Control:
    """Live state of one interactive element in the text browser."""

    node: _Node
    role: str
    form: _Node | None
    value: str | None = None
    options: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (value, label)
    checked: bool | None = None


class _Page:
    """A parsed page: its tree, its interactive controls (by id) and their live form state."""

    def __init__(self, url: str, body: str):
        builder = _TreeBuilder()
        builder.feed(body)
        builder.close()
        self.url, self.title, self.root = url, _collapse(builder.title), builder.root
        self.controls: dict[int, _Control] = {}
        self._labels = self._collect_labels()
        self._walk_controls(self.root, None)

    def _collect_labels(self) -> dict[str, str]:
        labels: dict[str, str] = {}
        stack: list[Any] = [self.root]
        while stack:
            n = stack.pop()
            if isinstance(n, _Node):
                if n.tag == "label" and n.attrs.get("for"):
                    labels.setdefault(n.attrs["for"], _text_of(n))
                stack.extend(n.children)
        return labels

    def _walk_controls(self, node: _Node, form: _Node | None) -> None:
        for child in node.children:
            if not isinstance(child, _Node) or child.tag in SKIP_TAGS or _hidden(child):
                continue
            if _interactive(child):
                self.controls[len(self.controls) + 1] = self._control(child, form)
                continue
            self._walk_controls(child, child if child.tag == "form" else form)

    def _control(self, node: _Node, form: _Node | None) -> _Control:
        c = _Control(node, _role(node.tag, node.attrs), form)
        if node.tag == "select":
            for opt in (n for n in _descendants(node) if n.tag == "option"):
                label = _text_of(opt)
                c.options.append((opt.attrs.get("value", label), label))
            chosen = [n for n in _descendants(node) if n.tag == "option" and "selected" in n.attrs]
            c.value = (chosen[-1].attrs.get("value", _text_of(chosen[-1])) if chosen else
                       (c.options[0][0] if c.options else ""))
        elif node.tag == "textarea":
            c.value = _text_of(node)
        elif c.role == "textbox":
            c.value = node.attrs.get("value", "")
        elif c.role in ("checkbox", "radio"):
            c.checked = "checked" in node.attrs
        return c

    def element(self, id: int) -> Element:
        c = self.controls[id]
        a, tag = c.node.attrs, c.node.tag
        is_input = tag in ("input", "select", "textarea")
        name = _collapse(a.get("aria-label", ""))
        if not name and tag == "input" and c.role == "button":
            name = _collapse(a.get("value", "")) or "Submit"
        if not name and not is_input:
            name = _text_of(c.node)
        if not name and a.get("id"):
            name = self._labels.get(a["id"], "")
        if not name:
            name = _collapse(a.get("placeholder", "")) or _collapse(a.get("title", "")) or _collapse(a.get("name", ""))
        value = c.value
        if tag == "select":
            value = next((label for v, label in c.options if v == c.value), "")
        elif c.role in ("checkbox", "radio"):
            value = None
        return Element(id, c.role, name, value, tuple(label for _, label in c.options), c.checked)

    def observe(self, error: str | None) -> Observation:
        lines: list[str] = []
        buf: list[str] = []
        ids = iter(self.controls)

        def flush() -> None:
            text = _collapse(" ".join(buf))
            if text:
                lines.append(text)
            buf.clear()

        def walk(node: _Node) -> None:
            for child in node.children:
                if isinstance(child, str):
                    buf.append(child)
                    continue
                if child.tag in SKIP_TAGS or _hidden(child):
                    continue
                if _interactive(child):
                    flush()
                    lines.append("\0" + str(next(ids)))
                    continue
                block = child.tag in BLOCK_TAGS or child.tag in ("td", "th")
                if block:
                    flush()
                walk(child)
                if block:
                    flush()

        body = next((n for n in _descendants(self.root) if n.tag == "body"), self.root)
        walk(body)
        flush()
        elements = tuple(self.element(i) for i in self.controls)
        return Observation(_compose(lines, elements), self.url, self.title, elements, None, error)

    def form_fields(self, form: _Node, submitter: _Control | None) -> list[tuple[str, str]]:
        fields = []
        for c in self.controls.values():
            name = c.node.attrs.get("name")
            if c.form is not form or not name or c.role == "button":
                continue
            if c.role in ("checkbox", "radio"):
                if c.checked:
                    fields.append((name, c.node.attrs.get("value", "on")))
            elif c.value is not None:
                fields.append((name, c.value))
        # hidden inputs are not controls but are submitted
        for n in _descendants(form):
            if n.tag == "input" and (n.attrs.get("type") or "").lower() == "hidden" and n.attrs.get("name"):
                fields.append((n.attrs["name"], n.attrs.get("value", "")))
        if submitter is not None and submitter.node.attrs.get("name"):
            fields.append((submitter.node.attrs["name"], submitter.node.attrs.get("value", "")))
        return fields


def _descendants(node: _Node) -> list[_Node]:
    out: list[_Node] = []
    stack: list[Any] = list(reversed(node.children))
    while stack:
        n = stack.pop()
        if isinstance(n, _Node):
            out.append(n)
            stack.extend(reversed(n.children))
    return out


class _LoopbackRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects only on loopback: a site cannot send the text browser elsewhere."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        if not is_loopback_url(newurl):
            raise urllib.error.URLError(f"refused a redirect off loopback to {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class TextBrowser:
    """HTTP fetch on loopback + parsed HTML, no JavaScript. Links, buttons and forms (GET/POST) work.

    Each `reset` starts a fresh cookie jar and history. Fetches run in a worker thread so a site served by
    the same event loop keeps running.
    """

    def __init__(self, *, timeout_s: float = 10.0, max_bytes: int = 2_000_000):
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.allowed_origin: str | None = None
        self._page: _Page | None = None
        self._history: list[_Page] = []
        self._focus: _Control | None = None
        self._opener: urllib.request.OpenerDirector | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Nothing to start; here so both backends share one interface."""

    async def close(self) -> None:
        self._page, self._history, self._opener = None, [], None

    async def reset(self, url: str, allowed_origin: str | None = None) -> Observation:
        if not is_loopback_url(url):
            raise BrowserError(f"reset url {url!r} is not on loopback; serve the site on 127.0.0.1.")
        self.allowed_origin = allowed_origin or _origin(url)
        # no ProxyHandler: an http_proxy in the environment must not route loopback fetches elsewhere
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _LoopbackRedirects(),
                                                   urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self._history, self._page, self._focus = [], None, None
        error = await self._load(url)
        if error:
            raise BrowserError(f"could not load {url}: {error}")
        return await self.observe()

    async def observe(self, error: str | None = None) -> Observation:
        if self._page is None:
            raise BrowserError("observe() before reset(); call reset(url) first.")
        return self._page.observe(error)

    async def act(self, action: Action | BadAction) -> Observation:
        if self._page is None:
            raise BrowserError("act() before reset(); call reset(url) first.")
        return await _act_and_observe(self, action, set(self._page.controls))

    async def _perform(self, action: Action) -> str | None:
        page = self._page
        assert page is not None
        control = page.controls.get(action.target) if action.target is not None else None
        if action.kind == "click":
            return await self._click(control)
        if action.kind == "type":
            if control.role != "textbox":
                return f"[{action.target}] is a {control.role}, not a text box; type into a textbox"
            control.value = action.text or ""
            self._focus = control
            return None
        if action.kind == "select":
            if control.node.tag != "select":
                return f"[{action.target}] is not a select box; use click({action.target}) or type(...)"
            for value, label in control.options:
                if action.text in (label, value) or (action.text or "").lower() == label.lower():
                    control.value = value
                    return None
            return (f"[{action.target}] has no option {action.text!r}; options are "
                    f"{json.dumps([label for _, label in control.options], ensure_ascii=False)}")
        if action.kind == "press":
            if _key_name(action.text or "") != "Enter":
                return None  # other keys change nothing without JavaScript
            if self._focus is None or self._focus.form is None:
                return "press(\"Enter\") submits a form after type(...) into one of its fields; nothing to submit"
            return await self._submit(self._focus.form, None)
        if action.kind == "scroll":
            return None  # the whole page is already in the observation
        if action.kind == "back":
            if not self._history:
                return "back() did nothing: this is the first page of the episode"
            self._page = self._history.pop()
            self._focus = None
            return None
        if action.kind == "goto":
            target, error = _check_goto(action.text or "", page.url, self.allowed_origin)
            return error or await self._load(target)
        return f"unknown action {action.kind}"

    async def _click(self, control: _Control) -> str | None:
        node, page = control.node, self._page
        assert page is not None
        if control.role in ("checkbox", "radio"):
            if control.role == "radio":
                name = node.attrs.get("name")
                for other in page.controls.values():
                    if other.role == "radio" and other.form is control.form and other.node.attrs.get("name") == name:
                        other.checked = False
            control.checked = True if control.role == "radio" else not control.checked
            return None
        if node.tag == "a":
            return await self._load(urllib.parse.urljoin(page.url, node.attrs["href"]))
        if control.role == "button" and control.form is not None:
            kind = (node.attrs.get("type") or "submit").lower()
            if kind == "submit" or (node.tag == "input" and kind == "image"):
                return await self._submit(control.form, control)
        if control.role == "textbox":
            self._focus = control
            return None
        return None  # a script-driven control: nothing happens without JavaScript

    async def _submit(self, form: _Node, submitter: _Control | None) -> str | None:
        page = self._page
        assert page is not None
        action_url = urllib.parse.urljoin(page.url, form.attrs.get("action") or page.url)
        data = urllib.parse.urlencode(page.form_fields(form, submitter))
        if (form.attrs.get("method") or "get").lower() == "post":
            return await self._load(action_url, data.encode())
        parts = urllib.parse.urlsplit(action_url)
        return await self._load(urllib.parse.urlunsplit(parts._replace(query=data, fragment="")))

    async def _load(self, url: str, data: bytes | None = None) -> str | None:
        if not is_loopback_url(url) or urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            return f"{url} is not on this site (only loopback http is reachable)"
        if _origin(url) != self.allowed_origin:
            return f"{url} leaves the site; only urls on {self.allowed_origin} are allowed"
        try:
            final_url, body = await asyncio.to_thread(self._fetch, url, data)
        except urllib.error.HTTPError as e:
            return f"the site answered HTTP {e.code} for {url}"
        except (urllib.error.URLError, OSError, ValueError) as e:
            return f"could not load {url}: {_short(e)}"
        if self._page is not None:
            self._history.append(self._page)
        self._page, self._focus = _Page(final_url, body), None
        return None

    def _fetch(self, url: str, data: bytes | None) -> tuple[str, str]:
        assert self._opener is not None
        req = urllib.request.Request(url, data=data, headers={"User-Agent": "agentrl-textbrowser"})
        with self._opener.open(req, timeout=self.timeout_s) as resp:
            final = resp.geturl()
            raw = resp.read(self.max_bytes)
            charset = resp.headers.get_content_charset() or "utf-8"
        return final, raw.decode(charset, errors="replace")


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
            if entry[1].pid is not None:
                return entry[1]
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


Browser = ChromiumBrowser | TextBrowser


def make_browser(backend: str, **kwargs: Any) -> Browser:
    """`backend` is "chromium" or "text"."""
    if backend == "chromium":
        return ChromiumBrowser(**kwargs)
    if backend == "text":
        return TextBrowser(**kwargs)
    raise BrowserError(f"unknown browser backend {backend!r}; use 'chromium' or 'text'.")
