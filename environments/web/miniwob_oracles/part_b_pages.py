"""part_b oracles for tasks that walk through a small app: lists, trees, pagination, feeds, a terminal."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agentrl.environments.web.miniwob_oracles.part_b_common import js, parts, quoted_strings, submit_action, texts

if TYPE_CHECKING:
    from agentrl.environments.web.miniwob import PageItem


def _ids(items: Sequence[PageItem], role: str | None = None) -> list[PageItem]:
    return [it for it in items if it.id is not None and (role is None or it.role == role)]


def multi_layouts(content: str) -> str:
    """A movie search form whose fields come in random order and wording; match each field by its label."""
    instruction, items = parts(content)
    m = re.search(r"Search for (.+) movies directed by (.+) from year (\d+)", instruction)
    if not m:
        return "stop()"
    genre, director, year = m.groups()
    fields = [i for i, it in enumerate(items) if it.role == "textbox"]

    def meaning(text: str) -> str | None:
        text = text.lower()
        return genre if "genre" in text else director if "director" in text else \
            year if ("year" in text or "date" in text) else None

    def near(i: int, step: int) -> str:
        j = i + step
        text = items[j].text if 0 <= j < len(items) and items[j].id is None else ""
        return "" if text.startswith("Search for") else text  # the instruction line is no label

    # most layouts put each label before its field, one puts it after: the first field's neighbours tell which
    step = -1 if fields and meaning(near(fields[0], -1)) else 1
    for i in fields:
        field = items[i]
        want = meaning(field.name) or meaning(near(i, step))
        if want is None:
            return "stop()"
        if field.value != want:
            return f"type({field.id}, {js(want)})"
    button = next((it for it in _ids(items) if it.name.lower() in ("submit", "search", "go!")), None)
    return f"click({button.id})" if button else "stop()"


def phone_book(content: str) -> str:
    instruction, items = parts(content)
    m = re.search(r"Find (.+) in the contact book and click on their (phone|email|address)", instruction)
    if not m:
        return "stop()"
    name, prop = m.groups()
    lines = texts(items)
    shown = lines[1] if len(lines) > 1 else ""
    if shown != name:
        nxt = next((it for it in _ids(items, "link") if it.name == ">"), None)
        return f"click({nxt.id})" if nxt else "stop()"
    label = {"phone": "Phone:", "email": "Email:", "address": "Address:"}[prop]
    for i, it in enumerate(items):
        if it.id is None and it.text.strip() == label:
            link = next((x for x in items[i + 1:] if x.role == "link"), None)
            return f"click({link.id})" if link else "stop()"
    return "stop()"


def navigate_tree(content: str) -> str:
    """Click the named file or folder once it shows; until then open a closed folder."""
    instruction, items = parts(content)
    quoted = quoted_strings(instruction)
    if not quoted:
        return "stop()"
    target = next((it for it in _ids(items) if it.name == quoted[0]), None)
    if target is not None:
        return f"click({target.id})"
    closed = next((it for it in _ids(items) if "expandable-hitarea" in it.name), None)
    return f"click({closed.id})" if closed else "stop()"


# -- social media ---------------------------------------------------------------------------------------------

_ICONS = {"Reply": "reply", "Retweet": "retweet", "Like": "like", "Share": "share"}


def _posts(items: Sequence[PageItem]) -> list[tuple[str, list[PageItem]]]:
    """(username, the post's controls) for each post of the feed: a "Name @user ..." line starts a post."""
    posts: list[tuple[str, list[PageItem]]] = []
    for it in items:
        m = re.match(r"^.*?(@\S+)", it.text) if it.id is None else None
        if m and not it.text.startswith(("For the user", "Click the")):
            posts.append((m.group(1), []))
        elif it.id is not None and posts:
            posts[-1][1].append(it)
    return posts


def social_media(content: str) -> str:
    instruction, items = parts(content)
    m = re.search(r'For the user (@\S+) ?, click on the " ?(.+?) ?" button', instruction)
    if not m:
        return "stop()"
    user, action = m.groups()
    # an open "more" menu lists its entries, some with the user: "Block @user"
    open_item = next((it for it in _ids(items) if it.role == "clickable"
                      and (it.name == action or it.name.startswith(action + " @"))), None)
    if open_item is not None and action not in _ICONS:  # the post's "more" menu is open
        return f"click({open_item.id})"
    for who, controls in _posts(items):
        if who != user:
            continue
        icon = _ICONS.get(action, "more")
        target = next((c for c in controls if c.name.split()[:1] == [icon]), None)
        return f"click({target.id})" if target else "stop()"
    return "stop()"


def social_media_all(content: str) -> str:
    """Toggle the named icon on every post by the user (social-media-all) or on N of them (-some); an icon
    that is on shows its "active" class in its name."""
    instruction, items = parts(content)
    m = re.search(r'Click the " ?(.+?) ?" button on (all posts|\d+ posts?) by (@\S+)', instruction)
    if not m:
        return "stop()"
    icon, amount, user = _ICONS.get(m.group(1), m.group(1).lower()), m.group(2), m.group(3)
    mine = [c for who, controls in _posts(items) if who == user for c in controls if c.name.split()[:1] == [icon]]
    on = [c for c in mine if "active" in c.name.split()]
    wanted = len(mine) if amount == "all posts" else int(amount.split()[0])
    if len(on) < wanted:
        off = next(c for c in mine if c not in on)
        return f"click({off.id})"
    return submit_action(items)


# -- search results and a terminal ------------------------------------------------------------------------------

def search_engine(content: str) -> str:
    instruction, items = parts(content)
    m = re.search(r'enter " ?(.+?) ?" and press "Search", then find and click the (\d+)\w\w search result',
                  instruction)
    box = next((it for it in items if it.role == "textbox"), None)
    if not m or box is None:
        return "stop()"
    name, k = m.group(1), int(m.group(2)) - 1
    links = _ids(items, "link")
    active = next((i for i, it in enumerate(items) if it.role == "clickable" and "active" in it.name.split()), None)
    if box.value != name or active is None:
        return f"type({box.id}, {js(name)})" if box.value != name else f"click({_named(items, 'Search')})"
    page = next((x for x in items[active + 1:] if x.role == "link"), None)
    if page is None or not page.name.isdigit():
        return "stop()"
    if int(page.name) != k // 3 + 1:
        target = next((x for x in links if x.name == str(k // 3 + 1)), None)
        return f"click({target.id})" if target else "stop()"
    first_pager = next(i for i, it in enumerate(items) if it.role == "clickable" and "page-item" in it.name)
    results = [it for it in items[:first_pager] if it.role == "link"]
    return f"click({results[k % 3].id})" if len(results) > k % 3 else "stop()"


def _named(items: Sequence[PageItem], name: str) -> int:
    return next(it.id for it in items if it.id is not None and it.name == name)


def terminal(content: str) -> str:
    """`ls`, then `rm` a file with the asked extension (or none), each typed as keystrokes and run with Enter."""
    instruction, items = parts(content)
    screen = next((it for it in items if it.role == "clickable" and it.name.startswith("terminal")), None)
    field = next((it for it in items if it.role == "textbox"), None)
    if screen is None or field is None:
        return "stop()"
    text = screen.name
    typed = text.rsplit("user$", 1)[1].replace("█", "").strip()
    listing = re.search(r"user\$ ls (.*?) user\$", text)
    if listing is None:
        command = "ls"
    else:
        m = re.search(r"extension \.(\S+)", instruction)
        files = listing.group(1).split()
        pick = [f for f in files if (f.endswith("." + m.group(1).rstrip(".")) if m else "." not in f)]
        if not pick:
            return "stop()"
        command = "rm " + min(pick, key=len)
    if typed == command:
        return 'press("Enter")'
    return f"type({field.id}, {js(command)})" if not typed else 'press("Backspace")'
