"""Web environments: a real headless Chromium and a fast text browser behind one interface, an offline shop
site, and MiniWoB++ task pages. Everything is served on 127.0.0.1 by the env itself.
"""

from agentrl.registry import register


def register_envs() -> None:
    """Register every web env; called from `agentrl.environments.register_envs`."""
    register("web/MiniWoB-v0", "agentrl.environments.web.miniwob:MiniWoBEnv",
             tasks="agentrl.environments.web.miniwob:tasks", rubric="agentrl.environments.web.miniwob:rubric",
             scripted_policy="agentrl.environments.web.miniwob:scripted_policy", max_turns=16,
             description="MiniWoB++ task pages in headless Chromium; MiniWoB's own raw and time-discounted "
                         "reward (virtual clock: 1 s per reply).")
