"""Web environments: a real headless Chromium and a fast text browser behind one interface, an offline shop
site, and MiniWoB++ task pages. Everything is served on 127.0.0.1 by the env itself.
"""


def register_envs() -> None:
    """Register every web env; called from `agentrl.environments.register_envs`."""
