"""The script-free backend: HTTP fetches on loopback plus parsed HTML, no JavaScript.

`TextBrowser` keeps the same interface as `ChromiumBrowser` (reset, observe, act, close). It parses each page
into a small forgiving DOM, walks it with the shared rules of `agentrl.environments.web.page`, and keeps the
live form state of its controls: links, buttons and forms (GET and POST) work, script-driven controls do
nothing. Redirects are followed only on loopback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html.parser
import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Self

from agentrl.environments.web.actions import Action, BadAction, act_and_observe, key_name, short_error
from agentrl.environments.web.loopback import check_goto, is_loopback_url, origin_of
from agentrl.environments.web.page import (
    BLOCK_TAGS,
    INTERACTIVE_ROLES,
    SKIP_TAGS,
    BrowserError,
    Element,
    Observation,
    collapse,
    compose_text,
    role_of,
)


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
    return collapse(" ".join(out))


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
        self.url, self.title, self.root = url, collapse(builder.title), builder.root
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
        c = _Control(node, role_of(node.tag, node.attrs), form)
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
        name = collapse(a.get("aria-label", ""))
        if not name and tag == "input" and c.role == "button":
            name = collapse(a.get("value", "")) or "Submit"
        if not name and not is_input:
            name = _text_of(c.node)
        if not name and a.get("id"):
            name = self._labels.get(a["id"], "")
        if not name:
            name = collapse(a.get("placeholder", "")) or collapse(a.get("title", "")) or collapse(a.get("name", ""))
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
            text = collapse(" ".join(buf))
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
        return Observation(compose_text(lines, elements), self.url, self.title, elements, None, error)

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


_POINTER_KINDS = frozenset({"dblclick", "hover", "drag", "click_xy", "dblclick_xy", "hover_xy", "drag_xy"})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE)


def _meta_charset(raw: bytes) -> str | None:
    """The charset a page declares in a <meta> tag (looked for in its first 2 KB, as browsers do)."""
    m = _META_CHARSET.search(raw[:2048])
    return m.group(1).decode("ascii") if m else None


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
        self.allowed_origin = allowed_origin or origin_of(url)
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
        return await act_and_observe(action, set(self._page.controls), self.observe, self._perform)

    async def _perform(self, action: Action) -> str | None:
        page = self._page
        assert page is not None
        control = page.controls.get(action.target) if action.target is not None else None
        if action.kind in _POINTER_KINDS:
            return (f"{action.kind}(...) needs a mouse, which the script-free text browser has no use for; "
                    "use click(id), type(id, \"text\") or select(id, \"option\")")
        if action.kind == "type" and control is None:
            if self._focus is None or self._focus.role != "textbox":
                return 'type("text") types into the focused field; write type(id, "text") to pick the field'
            control = self._focus
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
            if key_name(action.text or "") != "Enter":
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
            target, error = check_goto(action.text or "", page.url, self.allowed_origin)
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
        if origin_of(url) != self.allowed_origin:
            return f"{url} leaves the site; only urls on {self.allowed_origin} are allowed"
        try:
            final_url, body = await asyncio.to_thread(self._fetch, url, data)
        except urllib.error.HTTPError as e:
            return f"the site answered HTTP {e.code} for {url}"
        except (urllib.error.URLError, OSError, ValueError) as e:
            return f"could not load {url}: {short_error(e)}"
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
            charset = resp.headers.get_content_charset() or _meta_charset(raw) or "utf-8"
        try:
            return final, raw.decode(charset, errors="replace")
        except LookupError:  # a charset name Python does not know: UTF-8, as browsers fall back to
            return final, raw.decode("utf-8", errors="replace")
