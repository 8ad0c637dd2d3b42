"""What a page is to the model: the observation records and the walk rules both browser backends share.

An `Observation` is the page as compact text in which every interactive element carries an id, such as
``[12] button "Buy now"``, plus url, title, an optional PNG screenshot and the error of the last action (None
when it worked). `Observation.elements` lists the `Element`s (id, role, name, value, options) for scripted
policies.

The walk rules (which tags are skipped, which start a new line, which roles are interactive) are the same in
both backends: Chromium runs them in the page as `WALK_JS`, the text browser runs them over parsed HTML
(`agentrl.environments.web.textbrowser`), so a script-free page gives the same text in both.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence

from agentrl.errors import AgentRLError


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
    box: tuple[int, int, int, int] | None = None  # x, y, width, height in viewport pixels, when asked for
    state: str | None = None  # "class=...; disabled; focused; bg=...; scroll=top/max; ...", when asked for

    def line(self) -> str:
        parts = [f"[{self.id}] {self.role} {json.dumps(self.name, ensure_ascii=False)}"]
        if self.value is not None:
            parts.append(f"value={json.dumps(self.value, ensure_ascii=False)}")
        if self.options:
            parts.append("options=" + json.dumps(list(self.options), ensure_ascii=False))
        if self.checked is not None:
            parts.append("checked" if self.checked else "unchecked")
        if self.state:
            parts.append(f"state={json.dumps(self.state, ensure_ascii=False)}")
        if self.box is not None:
            parts.append("box=" + json.dumps(list(self.box), separators=(",", ":")))
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


def role_of(tag: str, attrs: Mapping[str, str]) -> str:
    """The role an element shows as: its explicit ARIA role when interactive, else one implied by the tag."""
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


def collapse(text: str) -> str:
    """Whitespace runs to single spaces, ends stripped (as the page text is shown)."""
    return " ".join(text.split())


# The same walk in the page (Chromium's backend). Returns {lines, elements, title}; tags every element with
# data-agentrl-id. `opts` (all off for plain sites, so a script-free page reads the same as in the text browser):
# boxes: every element and text line gets its viewport box; handlers: elements with JavaScript click handlers
# (marked by HANDLER_MARK_JS, jQuery delegation, onclick properties) or a pointer cursor are controls too;
# svg: the shapes inside <svg> are controls (role = the shape's tag); state: each element shows what the text
# alone does not (see stateOf), and an empty element that draws something (a coloured block, an icon) shows
# in the text as its classes in braces, such as "{ui-icon ui-icon-disk}" (an image as its alt text, a coloured one with
# its colour: "{cc bg=rgb(1, 2, 3)}"); a text selection shows as a last line
# 'Selected text: "..."'.
WALK_JS = r"""
([skip, block, roles, textInputs, extra, opts]) => {
  opts = opts || {};
  skip = new Set(skip); block = new Set(block); roles = new Set(roles); textInputs = new Set(textInputs);
  if (opts.svg) skip.delete("svg");
  const lines = []; const elements = []; let buf = []; let bufNodes = [];
  const R = v => Math.round(v);
  const boxOf = rects => {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const r of rects) { if (r.width === 0 && r.height === 0) continue;
      x0 = Math.min(x0, r.left); y0 = Math.min(y0, r.top); x1 = Math.max(x1, r.right); y1 = Math.max(y1, r.bottom); }
    return x0 === Infinity ? null : [R(x0), R(y0), R(x1 - x0), R(y1 - y0)];
  };
  const textBox = nodes => {
    const rects = [];
    for (const n of nodes) { const rg = document.createRange(); rg.selectNodeContents(n); rects.push(rg.getBoundingClientRect()); }
    return boxOf(rects);
  };
  const flush = () => {
    const t = buf.join(" ").split(/\s+/).filter(Boolean).join(" ");
    if (t) { let line = t; if (opts.boxes) { const b = textBox(bufNodes); if (b) line += " box=" + JSON.stringify(b); } lines.push(line); }
    buf = []; bufNodes = [];
  };
  const collapse = s => (s || "").split(/\s+/).filter(Boolean).join(" ");
  // an element's classes; with opts.state, without the ones a library adds while the mouse is over it
  // (ui-state-hover): "hovered" says that, and those come and go with Chromium's hover timing
  const classOf = el => collapse(el.getAttribute("class")).split(" ").filter(c => !(opts.state && /(^|-)hover$/.test(c))).join(" ");
  document.querySelectorAll("[data-agentrl-id]").forEach(e => e.removeAttribute("data-agentrl-id"));
  const SHAPES = new Set(["rect", "circle", "ellipse", "polygon", "polyline", "path", "line", "text", "image"]);
  const inSvg = el => el instanceof SVGElement && el.tagName.toLowerCase() !== "svg";
  const hidden = el => {
    if (el.hasAttribute("hidden") || el.getAttribute("aria-hidden") === "true") return true;
    if (el.tagName === "INPUT" && (el.getAttribute("type") || "").toLowerCase() === "hidden") return true;
    const st = (el.getAttribute("style") || "").replace(/\s+/g, "").toLowerCase();
    if (st.includes("display:none") || st.includes("visibility:hidden")) return true;
    if (el.checkVisibility && !el.checkVisibility({visibilityProperty: true})) return true;
    return false;
  };
  const hard = el => {
    const tag = el.tagName.toLowerCase();
    if (tag === "a") return el.hasAttribute("href");
    if (["button", "input", "select", "textarea"].includes(tag)) return true;
    if (roles.has((el.getAttribute("role") || "").trim().toLowerCase())) return true;
    if (el.hasAttribute("onclick")) return true;
    if (opts.svg && inSvg(el) && SHAPES.has(tag)) return true;
    return !!(extra && el.matches(extra));
  };
  // elements that act on a click only through script (or look clickable): controls when opts.handlers
  const soft = new Set();
  if (opts.handlers && document.body) {
    const kinds = ["click", "mousedown", "mouseup", "dblclick", "pointerdown", "pointerup"];
    const jq = window.jQuery && window.jQuery._data;
    const hosts = [document, document.body, ...document.querySelectorAll("*")];
    for (const el of hosts) {
      let direct = el !== document && el !== document.body && el !== document.documentElement && !!el.__agentrlClick;
      if (jq) {
        const ev = window.jQuery._data(el, "events");
        if (ev) { let onlyDelegated = true;
          for (const k of kinds) for (const h of (ev[k] || [])) {
            if (h.selector) { try { el.querySelectorAll(h.selector).forEach(t => soft.add(t)); } catch (e) {} }
            else onlyDelegated = false;
          }
          if (onlyDelegated && direct && !el.__agentrlNative) direct = false;
        }
      }
      if (el === document || el === document.body || el === document.documentElement) continue;
      if (direct || typeof el.onclick === "function" || typeof el.onmousedown === "function") soft.add(el);
      else if (opts.state && el.tabIndex >= 0 && el.hasAttribute("tabindex")) soft.add(el);  // a slider's handle
      else if (el.parentElement && el.parentElement !== document.body && getComputedStyle(el).cursor === "pointer"
               && getComputedStyle(el.parentElement).cursor !== "pointer") soft.add(el);
    }
  }
  const interactive = el => hard(el) || soft.has(el);
  // with opts.state a script-driven list (a sortable) keeps its items as lines of their own too
  const hasBlockInside = el => Array.from(el.children).some(c => block.has(c.tagName.toLowerCase()));
  const hasControlInside = el => { for (const d of el.querySelectorAll("*")) if (interactive(d)) return true; return false; };
  const role = el => {
    const tag = el.tagName.toLowerCase(); const r = (el.getAttribute("role") || "").trim().toLowerCase();
    if (roles.has(r)) return r;
    if (opts.svg && inSvg(el) && SHAPES.has(tag)) return tag;
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
  const describe = (el, ownText) => {
    const tag = el.tagName.toLowerCase(); const r = role(el);
    const isInput = tag === "input" || tag === "select" || tag === "textarea";
    let name = collapse(el.getAttribute("aria-label"));
    if (!name && tag === "input" && r === "button") name = collapse(el.getAttribute("value")) || "Submit";
    if (!name && !isInput) name = ownText === undefined ? collapse(el.textContent) : collapse(ownText);
    if (!name && opts.svg && inSvg(el) && tag !== "text") name = collapse(el.getAttribute("fill") || getComputedStyle(el).fill);
    if (!name) name = labelFor(el);
    if (!name) name = collapse(el.getAttribute("placeholder")) || collapse(el.getAttribute("title")) || collapse(el.getAttribute("name"));
    // an icon-only control (a star, a trash can) is known by its id or classes on script-driven pages
    if (!name && opts.handlers && !hard(el)) name = collapse(el.id) || (typeof el.className === "string" ? classOf(el) : "");
    const d = {role: r, name: name, value: null, options: [], checked: null, box: null};
    if (tag === "select") {
      d.options = Array.from(el.options).map(o => collapse(o.textContent));
      const s = el.options[el.selectedIndex]; d.value = s ? collapse(s.textContent) : "";
    } else if (tag === "textarea" || (tag === "input" && r === "textbox")) { d.value = el.value; }
    else if (r === "checkbox" || r === "radio") { d.checked = !!el.checked; }
    if (opts.boxes) d.box = boxOf([el.getBoundingClientRect()]);
    if (opts.state) d.state = stateOf(el, tag, r) || null;
    return d;
  };

  const drawn = el => { const b = boxOf([el.getBoundingClientRect()]); return !!b && b[2] > 0 && b[3] > 0; };
  // the state line of an element (opts.state): its classes, whether it is disabled or focused, its own
  // background or fill colour, whether the mouse is over it, how far it is scrolled, the options picked in a multi-select, a slider's or
  // spinner's value and range, and the classes of the empty marks (icons) inside it
  // the control under the mouse: the one holding the element at the last pointer position (HANDLER_MARK_JS
  // records it; Chromium's :hover state lags behind the events, so it would make two runs differ)
  const hovered = (() => {
    const at = window.__agentrlMouse; if (!opts.state || !at) return null;
    let el = document.elementFromPoint(at[0], at[1]);
    while (el && !interactive(el)) el = el.parentElement;
    return el;
  })();
  const stateOf = (el, tag, r) => {
    const out = []; const cs = getComputedStyle(el);
    const cls = classOf(el); if (cls) out.push("class=" + cls);
    if (el.disabled) out.push("disabled");
    if (document.activeElement === el) out.push("focused");
    if (el === hovered) out.push("hovered");
    const bg = cs.backgroundColor; if (bg && bg !== "transparent" && bg !== "rgba(0, 0, 0, 0)") out.push("bg=" + bg);
    if (inSvg(el)) out.push("fill=" + cs.fill);
    if (el.scrollHeight > el.clientHeight + 1 && (tag === "textarea" || /(auto|scroll)/.test(cs.overflowY)))
      out.push("scroll=" + Math.round(el.scrollTop) + "/" + (el.scrollHeight - el.clientHeight));
    if (tag === "select" && el.multiple)
      out.push("selected=" + JSON.stringify(Array.from(el.selectedOptions).map(o => collapse(o.textContent))));
    const now = el.getAttribute("aria-valuenow");
    if (now !== null) out.push("value=" + now);
    else if (tag === "input" && r !== "textbox" && !["checkbox", "radio", "button"].includes(r)) out.push("value=" + el.value);
    for (const k of ["min", "max"]) { const v = el.getAttribute("aria-value" + k) ?? (tag === "input" ? el.getAttribute(k) : null);
      if (v !== null) out.push(k + "=" + v); }
    const marks = Array.from(el.querySelectorAll("*")).filter(d => d.childNodes.length === 0 && classOf(d) && drawn(d) && !interactive(d)).map(classOf);
    if (marks.length) out.push("marks=" + [...new Set(marks)].join(", "));
    return out.join("; ");
  };
  const emit = (node, ownText) => {
    const d = describe(node, ownText); const id = elements.length + 1;
    node.setAttribute("data-agentrl-id", String(id));
    d.id = id; elements.push(d); flush(); lines.push("\u0000" + id);
  };
  const walk = node => {
    if (node.nodeType === 3) { buf.push(node.textContent); bufNodes.push(node); return; }
    if (node.nodeType !== 1) return;
    const tag = node.tagName.toLowerCase();
    if (skip.has(tag) || hidden(node)) return;
    if (opts.state && node.childNodes.length === 0 && !interactive(node)
        && ((classOf(node) && drawn(node)) || (tag === "img" && node.getAttribute("alt")))) {
      const bg = getComputedStyle(node).backgroundColor;  // a colour swatch shows its colour
      const painted = bg && bg !== "transparent" && bg !== "rgba(0, 0, 0, 0)" ? " bg=" + bg : "";
      buf.push("{" + (tag === "img" ? collapse(node.getAttribute("alt")) || classOf(node) : classOf(node)) + painted + "}"); return;
    }
    if (interactive(node)) {
      // a script-clickable container (a tree folder holding its items) keeps its own text as its name and
      // its inner controls and blocks as lines of their own
      if (!hard(node) && (hasControlInside(node) || (opts.state && hasBlockInside(node)))) {
        const own = [], rest = [];
        for (const c of node.childNodes) {
          const plain = c.nodeType === 3 || (c.nodeType === 1 && !block.has(c.tagName.toLowerCase())
                                              && !interactive(c) && !hasControlInside(c));
          (plain && rest.length === 0 ? own : rest).push(c);
        }
        emit(node, own.map(c => c.textContent).join(" "));
        for (const c of rest) walk(c);
        flush();
        return;
      }
      emit(node); return;
    }
    const isBlock = block.has(tag) || tag === "td" || tag === "th";
    if (isBlock) flush();
    for (const c of node.childNodes) walk(c);
    if (isBlock) flush();
  };
  if (document.body) walk(document.body);
  flush();
  if (opts.state) { const picked = collapse(String(window.getSelection ? window.getSelection() : ""));
    if (picked) lines.push("Selected text: " + JSON.stringify(picked)); }
  return {lines, elements, title: document.title || ""};
}
"""

# Installed before any page script runs (when handlers are looked for): remembers which elements got a
# pointer listener, since a listener leaves no trace in the DOM, and where the mouse last moved to.
HANDLER_MARK_JS = r"""
(() => {
  const kinds = new Set(["click", "mousedown", "mouseup", "dblclick", "pointerdown", "pointerup"]);
  const add = EventTarget.prototype.addEventListener;
  EventTarget.prototype.addEventListener = function (type, listener, options) {
    if (kinds.has(type) && this instanceof Element) {
      this.__agentrlClick = true;
      if (!(window.jQuery && listener && String(listener).includes("jQuery"))) this.__agentrlNative = true;
    }
    return add.call(this, type, listener, options);
  };
  add.call(window, "mousemove", e => { window.__agentrlMouse = [e.clientX, e.clientY]; }, true);
})();
"""


def compose_text(lines: Sequence[str], elements: Sequence[Element]) -> str:
    """The observation text: walked lines, where a line "\\0<id>" stands for that element's `Element.line`."""
    by_id = {e.id: e for e in elements}
    out = [by_id[int(line[1:])].line() if line.startswith("\0") else line for line in lines]
    return "\n".join(out)

