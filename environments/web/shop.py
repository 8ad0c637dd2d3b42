"""An offline WebShop-like task: a shop site served by the env on 127.0.0.1, browsed by a real or text browser.

Each episode is one shopping session on the env's own site (a stdlib HTTP server on a free loopback port,
one per env): the start page shows the instruction and a search box; search results link to product pages
(title, price, features, one select box per option, a "Buy Now" button). Buying ends the episode, as in
WebShop; so do answer(...) and stop() (no purchase: outcome 0).

- Tasks (`tasks(split)`): "test" is the fixed shipped split (`data/shop_test.jsonl`, 50 goals); "train" is
  drawn from the catalogue with a seed (`train_tasks(n, seed)`). A task's reference holds the goal.
- Step infos: `valid` (the reply parsed as an action and the browser performed it), `milestones` reached for
  the first time this step (`searched`, `target_listed`, `target_page`, `bought`), and on the buying step
  `purchase` and `webshop` (the outcome reward with its parts, `catalogue.webshop_reward`).
- Rubric (`rubric()`): turn terms `valid_action` (logged) and `target_page` (0.1, the first visit of the
  target product's page), outcome term `webshop` (WebShop's formula; 0 without a purchase).

`ShopEnv(backend="chromium" | "text", browser=None)`: with `browser=None` a Chromium env takes a browser from
the event loop's `BrowserPool` on its first reset (a fresh context per episode) and gives it back in `close()`,
so envs made one per episode reuse one process; a text env makes and closes its own. A browser passed in is
shared and left open.
"""

from __future__ import annotations

import dataclasses
import html
import http.server
import random
import re
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from agentrl.env import StepResult
from agentrl.environments.web.browser import (
    ACTION_HELP,
    Action,
    Observation,
    browser_pool,
    make_browser,
    parse_action,
)
from agentrl.environments.web.catalogue import (
    Goal,
    Product,
    make_goal,
    shipped_catalogue,
    shipped_test_goals,
    webshop_reward,
)
from agentrl.errors import TaskError
from agentrl.policy_contract import ScriptedPolicy
from agentrl.types import Task
from agentrl.verifiers import Rubric, reward

AGENT = "shopper"
RESULTS_PER_PAGE = 10
_WORD = re.compile(r"[a-z0-9][a-z0-9\-.]*")


# -- the site ----------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Session:
    """One episode's state on the site. Events are appended by the server thread and read by the env."""

    goal: Goal
    events: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (kind, product id or query)
    purchase: tuple[str, dict[str, str]] | None = None


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def search(catalogue: Sequence[Product], query: str) -> list[Product]:
    """Products ranked by how many query words their title, attributes and category contain (ties by id)."""
    words = set(_tokens(query))
    if not words:
        return []
    scored = []
    for p in catalogue:
        bag = set(_tokens(" ".join([p.title, p.query, *p.attributes, *p.category])))
        hits = len(words & bag)
        if hits:
            scored.append((-hits, p.id, p))
    return [p for _, _, p in sorted(scored, key=lambda t: t[:2])]


def _page(title: str, body: str) -> bytes:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body>{body}</body></html>").encode()


class ShopSite:
    """The shop's pages and sessions, served by a threaded stdlib HTTP server on 127.0.0.1 (random port)."""

    def __init__(self, catalogue: Sequence[Product]):
        self.catalogue = list(catalogue)
        self.by_id = {p.id: p for p in self.catalogue}
        self.sessions: dict[str, Session] = {}
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._count = 0

    @property
    def origin(self) -> str:
        assert self._server is not None, "start() the site first"
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> None:
        if self._server is not None:
            return
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site._answer(self, None)

            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                site._answer(self, self.rfile.read(size).decode())

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="shop-site", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def new_session(self, goal: Goal) -> str:
        """A fresh session for one episode; ids count up per site, so runs are reproducible."""
        self._count += 1
        sid = str(self._count)
        self.sessions = {sid: Session(goal)}  # only the current episode's session stays reachable
        return sid

    # routing
    def _answer(self, req: http.server.BaseHTTPRequestHandler, form: str | None) -> None:
        parts = urllib.parse.urlsplit(req.path)
        query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        fields = dict(urllib.parse.parse_qsl(form or "", keep_blank_values=True))
        m = re.fullmatch(r"/s/([^/]+)/(|search|item/([^/]+)|buy/([^/]+))", parts.path)
        session = self.sessions.get(m.group(1)) if m else None
        if session is None:
            return self._send(req, 404, _page("Not found", "<p>No such page.</p>"))
        sid, route = m.group(1), m.group(2)
        if route == "":
            body = self._home(sid, session)
        elif route == "search":
            body = self._results(sid, session, query.get("q", ""), _int(query.get("page"), 1))
        elif route.startswith("item/") and m.group(3) in self.by_id:
            body = self._item(sid, session, self.by_id[m.group(3)], query.get("q", ""))
        elif route.startswith("buy/") and m.group(4) in self.by_id and form is not None:
            body = self._buy(session, self.by_id[m.group(4)], fields)
        else:
            return self._send(req, 404, _page("Not found", "<p>No such page.</p>"))
        self._send(req, 200, body)

    @staticmethod
    def _send(req: http.server.BaseHTTPRequestHandler, code: int, body: bytes) -> None:
        req.send_response(code)
        req.send_header("Content-Type", "text/html; charset=utf-8")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    def _home(self, sid: str, session: Session) -> bytes:
        return _page("Shop", (
            f"<h1>Shop</h1><p>Instruction: {html.escape(session.goal.instruction)}</p>"
            f"<form action='/s/{sid}/search' method='get'>"
            "<input type='search' name='q' aria-label='Search' placeholder='Search products'>"
            "<button type='submit'>Search</button></form>"))

    def _results(self, sid: str, session: Session, q: str, page: int) -> bytes:
        found = search(self.catalogue, q)
        shown = found[(page - 1) * RESULTS_PER_PAGE: page * RESULTS_PER_PAGE]
        session.events.append(("search", q))
        session.events.extend(("listed", p.id) for p in shown)
        qs = urllib.parse.quote(q)
        items = "".join(f"<li><a href='/s/{sid}/item/{p.id}?q={qs}'>{html.escape(p.title)}</a> "
                        f"<span>${p.price:.2f}</span></li>" for p in shown)
        nav = f"<a href='/s/{sid}/'>Back to Search</a>"
        if page > 1:
            nav += f" <a href='/s/{sid}/search?q={qs}&amp;page={page - 1}'>&lt; Prev</a>"
        if page * RESULTS_PER_PAGE < len(found):
            nav += f" <a href='/s/{sid}/search?q={qs}&amp;page={page + 1}'>Next &gt;</a>"
        return _page("Results", f"<p>{nav}</p><p>Page {page} ({len(found)} results for "
                                f"{html.escape(q)!s})</p><ul>{items}</ul>")

    def _item(self, sid: str, session: Session, p: Product, q: str) -> bytes:
        session.events.append(("item", p.id))
        selects = "".join(
            f"<p><label for='opt-{name}'>{html.escape(name)}</label> <select id='opt-{name}' name='{name}'>"
            "<option value=''>choose</option>"
            + "".join(f"<option>{html.escape(v)}</option>" for v in values) + "</select></p>"
            for name, values in p.options.items())
        back = f"/s/{sid}/search?q={urllib.parse.quote(q)}" if q else f"/s/{sid}/"
        return _page(p.title, (
            f"<p><a href='{back}'>&lt; Back</a></p><h1>{html.escape(p.title)}</h1><p>Price: ${p.price:.2f}</p>"
            f"<p>Features: {html.escape(', '.join(p.attributes))}</p><p>{html.escape(p.description)}</p>"
            f"<form action='/s/{sid}/buy/{p.id}' method='post'>{selects}"
            "<button type='submit'>Buy Now</button></form>"))

    def _buy(self, session: Session, p: Product, fields: Mapping[str, str]) -> bytes:
        chosen = {name: fields[name] for name in p.options if fields.get(name) in p.options[name]}
        if session.purchase is None:
            session.purchase = (p.id, chosen)
            session.events.append(("bought", p.id))
        picked = ", ".join(f"{k}: {v}" for k, v in chosen.items()) or "no options"
        return _page("Order placed", f"<h1>Thank you for shopping</h1><p>You bought {html.escape(p.title)} "
                                     f"({html.escape(picked)}).</p>")


def _int(text: str | None, default: int) -> int:
    try:
        return max(1, int(text or default))
    except ValueError:
        return default


# -- the env -----------------------------------------------------------------------------------------------

INTRO = ("You are shopping on a web site. Find and buy the product the instruction describes: search, open a "
         "product, choose its options, then click Buy Now. " + ACTION_HELP)


class ShopEnv:
    """The shop task on a real (`backend="chromium"`) or text (`"text"`) browser; see the module docstring."""

    possible_agents = (AGENT,)

    def __init__(self, backend: str = "chromium", browser: Any = None, max_chars: int = 3000,
                 catalogue: Sequence[Product] | None = None, **browser_kwargs: Any):
        self.backend = backend
        self.max_chars = max_chars
        self.site = ShopSite(catalogue if catalogue is not None else shipped_catalogue())
        self._owns_browser = browser is None
        self._pooled = browser is None and backend == "chromium"  # check_env and eval make an env per episode
        self._browser_kwargs = browser_kwargs
        self.browser = browser if browser is not None or self._pooled else make_browser(backend, **browser_kwargs)
        self._sid = ""
        self._goal: Goal | None = None
        self._seen_events = 0
        self._milestones: set[str] = set()

    async def reset(self, task: Task, seed: int) -> dict:
        self._goal = _goal_of(task)
        if self._goal.product_id not in self.site.by_id:
            raise TaskError(f"task {task.id!r} targets product {self._goal.product_id!r}, which is not in this "
                            "shop's catalogue; use tasks from agentrl.make's registry for this env.")
        self.site.start()
        if self.browser is None:
            self.browser = await browser_pool().acquire(**self._browser_kwargs)
        self._sid = self.site.new_session(self._goal)
        self._seen_events, self._milestones = 0, set()
        obs = await self.browser.reset(f"{self.site.origin}/s/{self._sid}/", allowed_origin=self.site.origin)
        return {AGENT: [*task.prompt, {"role": "user", "content": INTRO + "\n\n" + self._render(obs)}]}

    async def step(self, actions: Mapping[str, str]) -> StepResult:
        action = parse_action(actions[AGENT])
        obs = await self.browser.act(action)
        valid = isinstance(action, Action) and obs.error is None
        info: dict[str, Any] = {"valid": valid, "action": str(action) if isinstance(action, Action) else None,
                                "url": self._path(obs), "milestones": self._new_milestones()}
        session = self.site.sessions[self._sid]
        done = session.purchase is not None or (isinstance(action, Action) and action.ends_episode)
        if session.purchase is not None:
            pid, chosen = session.purchase
            info["purchase"] = {"product_id": pid, "options": chosen}
            info["webshop"] = webshop_reward(self.site.by_id[pid], self._goal, chosen)
        if done:
            return StepResult({}, {AGENT: 0.0}, {AGENT: True}, {AGENT: False}, {AGENT: info})
        return StepResult({AGENT: self._render(obs)}, {AGENT: 0.0}, {AGENT: False}, {AGENT: False}, {AGENT: info})

    async def close(self) -> None:
        try:
            if self._pooled and self.browser is not None:
                browser_pool().release(self.browser, **self._browser_kwargs)
                self.browser = None
            elif self._owns_browser:
                await self.browser.close()
        finally:
            self.site.stop()

    def _render(self, obs: Observation) -> str:
        return obs.render(self.max_chars, base_url=self.site.origin)

    def _path(self, obs: Observation) -> str:
        origin = self.site.origin
        return obs.url.removeprefix(origin)

    def _new_milestones(self) -> list[str]:
        events = self.site.sessions[self._sid].events
        fresh, self._seen_events = events[self._seen_events:], len(events)
        target = self._goal.product_id if self._goal else ""
        reached = []
        for kind, what in fresh:
            name = {"search": "searched", "listed": "target_listed" if what == target else "",
                    "item": "target_page" if what == target else "", "bought": "bought"}[kind]
            if name and name not in self._milestones:
                self._milestones.add(name)
                reached.append(name)
        return reached


def _goal_of(task: Task) -> Goal:
    try:
        return Goal.from_dict(task.reference["goal"])
    except (KeyError, TypeError, ValueError) as e:
        raise TaskError(f"task {task.id!r} has no valid reference['goal'] ({e}); shop tasks come from "
                        "agentrl.environments.web.shop.tasks(split).") from e


# -- tasks, rubric, scripted policy ------------------------------------------------------------------------

def _task(goal: Goal, id: str, split: str) -> Task:
    return Task(id=id, prompt=(), reference={"goal": goal.to_dict()}, split=split)


def train_tasks(n: int = 200, seed: int = 0) -> list[Task]:
    rng = random.Random(seed)
    catalogue = shipped_catalogue()
    return [_task(make_goal(catalogue, rng), f"shop-train-{seed}-{i}", "train") for i in range(n)]


def tasks(split: str = "train") -> list[Task]:
    """"test": the shipped fixed split; "train": 200 goals drawn with seed 0."""
    if split == "test":
        return [_task(g, f"shop-test-{i}", "test") for i, g in enumerate(shipped_test_goals())]
    if split == "train":
        return train_tasks()
    raise TaskError(f"unknown split {split!r} for the shop; use 'train' or 'test'.")


def valid_action(info: Mapping[str, Any]) -> float:
    return float(bool(info.get("valid")))


def target_page(info: Mapping[str, Any]) -> float:
    return float("target_page" in info.get("milestones", ()))


def webshop(info: Mapping[str, Any]) -> float:
    """WebShop's outcome reward of the purchase (0.0 when the episode ended without one)."""
    return float(info.get("webshop", {}).get("reward", 0.0))


def rubric() -> Rubric:
    return Rubric(turn=[reward(valid_action, weight=0.0), reward(target_page, weight=0.1)],
                  outcome=[webshop], env_weight=0.0)


# The scripted shopper reads only what a model reads: the instruction and the pages.
_INSTRUCTION = re.compile(r"Instruction: i am looking for (?P<query>.+?) that is (?P<attrs>.+?)"
                          r"(?:, with (?P<opts>.+?))?(?:, and price lower than (?P<price>[\d.]+) dollars)?$", re.MULTILINE)
_ELEMENT = re.compile(r'^\[(\d+)\] (\w+) "((?:[^"\\]|\\.)*)"(.*)$', re.MULTILINE)
_PRICE = re.compile(r"Price: \$([\d.]+)")
_FEATURES = re.compile(r"^Features: (.*)$", re.MULTILINE)


def _goal_from_text(messages: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    for m in messages:
        match = _INSTRUCTION.search(str(m.get("content", "")))
        if match:
            opts = dict(o.split(": ", 1) for o in (match["opts"] or "").split(", and ") if ": " in o)
            return {"query": match["query"], "attrs": match["attrs"].split(" and "), "options": opts,
                    "price": float(match["price"]) if match["price"] else float("inf")}
    return None


def _elements(page: str) -> list[tuple[int, str, str, str]]:
    return [(int(i), role, name, rest) for i, role, name, rest in _ELEMENT.findall(page)]


def shopper_script(agent: str, messages: Sequence[Mapping[str, Any]], rng: random.Random) -> str:
    """Search for the query and attributes, open results in order, buy the first that fits, choosing options.

    Stateless: everything it needs is in the conversation (what it already opened is in its own replies).
    """
    goal = _goal_from_text(messages)
    page = str(messages[-1].get("content", ""))
    if goal is None:
        return "stop()"
    els = _elements(page)
    url = re.search(r"^URL: (\S+)", page, re.MULTILINE)
    path = url.group(1) if url else ""
    opened = {a for m in messages if m.get("role") == "assistant"
              for a in re.findall(r"^open (.+)$", str(m.get("content", "")), re.MULTILINE)}
    if re.fullmatch(r"/s/[^/]+/", path):
        box = next((i for i, role, name, rest in els if role == "textbox"), None)
        typed = next((rest for i, role, name, rest in els if role == "textbox"), "")
        text = " ".join([goal["query"], *goal["attrs"]])
        if f'value="{text}"' not in typed:
            return f'type({box}, "{text}")'
        return 'press("Enter")'
    if "/search" in path:
        for i, role, name, _ in els:
            if role == "link" and name not in ("Back to Search", "< Prev", "Next >") and name not in opened:
                return f"open {name}\nclick({i})"
        nxt = next((i for i, role, name, _ in els if name == "Next >"), None)
        return f"click({nxt})" if nxt else "stop()"
    if "/item/" in path:
        price = _PRICE.search(page)
        features = _FEATURES.search(page)
        fits = (price and float(price.group(1)) <= goal["price"] and features
                and all(a in features.group(1).split(", ") for a in goal["attrs"]))
        selects = {name: (i, rest) for i, role, name, rest in els if role == "combobox"}
        if fits and all(goal["options"].get(n) and f'"{goal["options"][n]}"' in rest
                        for n, (_, rest) in selects.items()):
            for name, (i, rest) in selects.items():
                if f'value="{goal["options"][name]}"' not in rest:
                    return f'select({i}, "{goal["options"][name]}")'
            buy = next(i for i, role, name, _ in els if role == "button" and name == "Buy Now")
            return f"click({buy})"
        return "back()"
    return "stop()"


def scripted_policy(seed: int = 0) -> ScriptedPolicy:
    return ScriptedPolicy(shopper_script, seed=seed)
