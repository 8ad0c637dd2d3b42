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

Both backends walk the page with the same rules (`WALK_JS` in Chromium, the parsed-HTML walk of the text
browser), so a script-free page gives the same text in both. Chromium also drops elements that are not
rendered.

Actions (`ACTION_HELP` is the grammar shown to models): click(id), type(id, "text"), select(id, "option"),
press("Enter"), scroll(up|down), back(), goto("url"), answer("text"), stop(). A reply may contain prose; the
last action call in it counts. Unknown ids, disallowed urls and failed actions give an observation whose
`error` says what was wrong and how to write it; nothing raises on bad model output.

Network: only loopback; `goto` is limited to the origin given at reset. Processes: one chromium process
group per `ChromiumBrowser`, gone after `close()` (or when the instance or this process dies).

This module is the one to import from; the pieces live in siblings, each about one thing:

- `page`: `Observation`, `Element`, `BrowserError` and the walk rules both backends share.
- `actions`: the action grammar (`parse_action`, `Action`, `BadAction`, `ACTION_HELP`) and the shared act step.
- `loopback`: the network rule (`is_loopback_url`, `LOOPBACK_HOSTS`, the goto check).
- `chromium`: `ChromiumBrowser`, its process bookkeeping (`live_chromium_pids`) and `BrowserPool`.
- `textbrowser`: `TextBrowser`.
"""

from __future__ import annotations

from typing import Any

from agentrl.environments.web.actions import ACTION_HELP, Action, BadAction, parse_action
from agentrl.environments.web.chromium import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    PROFILE_PREFIX,
    BrowserPool,
    ChromiumBrowser,
    browser_pool,
    live_chromium_pids,
    started_profiles,
)
from agentrl.environments.web.loopback import LOOPBACK_HOSTS, is_loopback_url
from agentrl.environments.web.page import (
    BLOCK_TAGS,
    INTERACTIVE_ROLES,
    SKIP_TAGS,
    TEXT_INPUTS,
    BrowserError,
    Element,
    Observation,
)
from agentrl.environments.web.textbrowser import TextBrowser

__all__ = ["ACTION_HELP", "BLOCK_TAGS", "CHROMIUM", "CHROMIUM_FLAGS", "INTERACTIVE_ROLES", "LOOPBACK_HOSTS",
           "PROFILE_PREFIX", "SKIP_TAGS", "TEXT_INPUTS", "Action", "BadAction", "Browser", "BrowserError",
           "BrowserPool", "ChromiumBrowser", "Element", "Observation", "TextBrowser", "browser_pool",
           "is_loopback_url", "live_chromium_pids", "make_browser", "parse_action", "started_profiles"]


Browser = ChromiumBrowser | TextBrowser


def make_browser(backend: str, **kwargs: Any) -> Browser:
    """`backend` is "chromium" or "text"."""
    if backend == "chromium":
        return ChromiumBrowser(**kwargs)
    if backend == "text":
        return TextBrowser(**kwargs)
    raise BrowserError(f"unknown browser backend {backend!r}; use 'chromium' or 'text'.")
