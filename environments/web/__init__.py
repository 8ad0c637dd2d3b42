"""Web environments: a real headless Chromium and a fast text browser behind one interface, an offline shop site,
and MiniWoB++ task pages. Everything is served on 127.0.0.1 by the env itself.

- `browser`: `ChromiumBrowser`, `TextBrowser`, `Observation`, `parse_action` (the contract is in its docstring;
  the pieces live in `page`, `actions`, `loopback`, `chromium` and `textbrowser`).
- `catalogue`: the shop's seeded products and goals, and WebShop's reward formula.
- `shop`: the shop site and `ShopEnv` (`web/Shop-v0` on Chromium, `web/ShopText-v0` on the text browser).
"""

from agentrl.registry import register

_SHOP = "agentrl.environments.web.shop"


def register_envs() -> None:
    """Register every web env; called from `agentrl.environments.register_envs`."""
    register("web/Shop-v0", f"{_SHOP}:ShopEnv", kwargs={"backend": "chromium"}, tasks=f"{_SHOP}:tasks",
             rubric=f"{_SHOP}:rubric", scripted_policy=f"{_SHOP}:scripted_policy", max_turns=20,
             description="WebShop-like offline shop in real headless Chromium; WebShop's outcome reward.")
    register("web/ShopText-v0", f"{_SHOP}:ShopEnv", kwargs={"backend": "text"}, tasks=f"{_SHOP}:tasks",
             rubric=f"{_SHOP}:rubric", scripted_policy=f"{_SHOP}:scripted_policy", max_turns=20,
             description="The same shop through the script-free text browser (high-throughput training).")
    register("web/MiniWoB-v0", "agentrl.environments.web.miniwob:MiniWoBEnv",
             tasks="agentrl.environments.web.miniwob:tasks", rubric="agentrl.environments.web.miniwob:rubric",
             scripted_policy="agentrl.environments.web.miniwob:scripted_policy", max_turns=40,
             description="MiniWoB++ task pages in headless Chromium; MiniWoB's own raw and time-discounted "
                         "reward (virtual clock: 200 ms per reply).")
