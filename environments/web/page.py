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
# data-agentrl-id.
WALK_JS = r"""
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


def compose_text(lines: Sequence[str], elements: Sequence[Element]) -> str:
    """The observation text: walked lines, where a line "\\0<id>" stands for that element's `Element.line`."""
    by_id = {e.id: e for e in elements}
    out = [by_id[int(line[1:])].line() if line.startswith("\0") else line for line in lines]
    return "\n".join(out)

