"""Shared fixtures of the web tests (shop and MiniWoB++): ONE Chromium for the whole session, and a check at
the end of the session that no chromium process started by the tests is still running.

Tests that use `chromium` must run on the session event loop (Playwright objects belong to the loop that
made them)::

    pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

Pass the shared browser to an env (`ShopEnv(browser=chromium)`): an env closes only browsers it made.

The MiniWoB++ oracle tests (test_miniwob_oracles_{a,b,c}.py) share `miniwob_env` (one registered env per test
file) and `oracle_solves` (the registered scripted policy plays a registered task to MiniWoB's raw reward 1).
"""

from __future__ import annotations

import pytest
import pytest_asyncio

import agentrl
from agentrl import registry
from agentrl.environments.web.browser import ChromiumBrowser, live_chromium_pids
from agentrl.rollout import run_episode
from agentrl.types import Task

MINIWOB_ENV_ID = "web/MiniWoB-v0"
# the seeds the oracle tests play: one train seed, one test seed (the oracles were developed on seeds 0-4 and 1000)
ORACLE_SEEDS = {"train": 3, "test": 1001}


@pytest.fixture(scope="session", autouse=True)
def no_chromium_left_behind():
    """Runs last: every chromium started by this module (shared or owned by an env) must be gone."""
    yield
    left = live_chromium_pids()
    assert left == [], f"chromium processes left running after the web tests: {left}"


@pytest.fixture(scope="session")
async def chromium():
    """One real headless Chromium for every web test; each env reset still gets a fresh context."""
    browser = ChromiumBrowser()
    await browser.start()
    yield browser
    await browser.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def miniwob_env(chromium):
    """The registered MiniWoB++ env on the shared Chromium: one page server for every task of a test file."""
    e = agentrl.make(MINIWOB_ENV_ID, browser=chromium)
    yield e
    await e.close()


def registered_task(name: str, split: str) -> Task:
    seed = ORACLE_SEEDS[split]
    found = [t for t in registry.tasks(MINIWOB_ENV_ID, split) if t.env_kwargs == {"task": name, "seed": seed}]
    assert len(found) == 1, f"{name} seed {seed} is not in the registered {split} tasks"
    return found[0]


@pytest.fixture
def oracle_solves(miniwob_env):
    """``await oracle_solves(name, split)``: the registered scripted policy plays the registered task `name` on
    the split's seed (`ORACLE_SEEDS`), and the page itself ends the episode with raw reward 1, every action valid."""

    async def check(name: str, split: str) -> None:
        ep = await run_episode(miniwob_env, registry.scripted_policy(MINIWOB_ENV_ID, 0), registered_task(name, split),
                               0, registry.rubric(MINIWOB_ENV_ID), close=False)
        info = ep.turns[-1].info
        trace = [t.text for t in ep.turns]
        assert ep.status.value == "ok", (name, split, ep.error, trace)
        assert info["miniwob_done"], (name, split, trace)  # the page ended the episode (the env terminates on it)
        assert ep.outcome_rewards["agent"]["miniwob_raw"] == 1.0, (name, split, info["miniwob_reason"], trace)
        assert all(t.info["valid_action"] for t in ep.turns), (name, split, trace)

    return check
