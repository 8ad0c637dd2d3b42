"""BFCL multi-turn (Berkeley Function Calling Leaderboard v4) as `ToolEnv` episodes, scored by BFCL's own checker.

The `bfcl-eval` package (Apache-2.0, on PyPI) ships everything this family needs: the four multi-turn
categories (``base``, ``miss_func``, ``miss_param``, ``long_context``; 200 tasks each, with ground-truth call
sequences), the executable Python backends (a file system, messaging, Twitter-like posting, tickets, trading,
travel booking, vehicle control, math) and its multi-turn checker. Only the public `ToolEnv` API is used:

- tools: `Tool.from_document` on BFCL's own JSON function documents (as `load_dataset_entry` presents them, with
  its Python-syntax hint), each running the method of the backend instance that owns it; arguments go through
  untouched (``validation="none"``), as BFCL calls ``method(**arguments)``; an exception becomes BFCL's
  ``"Error during execution: ..."`` text, and a returned ``{"error": ...}`` counts as a failed call;
- the domain: fresh backend instances per episode, loaded from the task's ``initial_config`` the way BFCL loads
  them (``_load_scenario``, with ``long_context`` for that category);
- user turns: the task's later questions as scripted user turns; in ``miss_func`` the held-out functions are
  hidden tools (callable, as BFCL executes any backend method it decodes, but not listed) until the turn that
  announces them with BFCL's fixed "updated some more functions" message (``add_tools``);
- results: `bfcl_render` shows what BFCL's executor shows (strings as they are, dicts as JSON, else ``str``);
- limits: 21 replies with calls per user turn, BFCL's force-quit point (``max_steps_per_user_turn``).

The verdict (`bfcl_reward`, the rubric's outcome term) re-scores the episode from its record alone: the calls of
each user turn, grouped per reply as BFCL's pipeline groups them per step, written as BFCL's call strings,
through BFCL's `multi_turn_checker` (state of every backend instance and execution results, turn by turn,
against the ground truth), after the runner's own turn-count check. Where the dynamics differ from BFCL's loop:
a malformed tool call is answered with an error and the turn goes on (BFCL ends the turn), and public backend
methods without a function document cannot be called.

Splits: BFCL has one set per category; here every fourth task (id number divisible by 4) is ``test``, the rest
``train``. `agentrl.environments.tool_use.bfcl_replay` holds the gold-replay policy and the mutations the
conformance test runs.

BFCL's checker caches the backend instances it builds in its module's globals under the model name it is given
(and never frees them); each verdict here passes a fresh name and drops its entries afterwards. BFCL's data
loader creates result folders under ``BFCL_PROJECT_ROOT`` when imported; it defaults to a temp folder here.
"""

from __future__ import annotations

import copy
import functools
import inspect
import itertools
import json
import os
import tempfile
import threading
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agentrl.environments.tool_use.env import ToolEnv
from agentrl.environments.tool_use.tools import Tool, ToolResult
from agentrl.errors import AgentRLError
from agentrl.types import Episode, Task
from agentrl.verifiers import Rubric, Score

BFCL_VERSION = "2026.3.23"
CATEGORIES = ("base", "miss_func", "miss_param", "long_context")
MAX_STEPS_PER_USER_TURN = 21  # BFCL force-quits a test entry after MAXIMUM_STEP_LIMIT (20) + 1 call steps in a turn
MAX_TURNS = 200  # up to 8 user turns x 21 steps, with room to spare
SYSTEM_PROMPT = ("Act on the user's requests by calling the tools below; several calls may go in one reply. "
                 "When a request is done, or cannot be done with these tools, reply without a tool call.")


class BfclError(AgentRLError):
    """bfcl-eval is missing, or a category or task id does not exist."""


@functools.cache
def load_bfcl() -> types.SimpleNamespace:
    """BFCL's modules this family uses (imported once; `BfclError` with the install line when missing)."""
    os.environ.setdefault("BFCL_PROJECT_ROOT", str(Path(tempfile.gettempdir()) / "agentrl-bfcl"))
    try:
        from bfcl_eval import utils
        from bfcl_eval.constants import default_prompts
        from bfcl_eval.constants import executable_backend_config as backends
        from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_checker, multi_turn_utils
    except ImportError as e:
        raise BfclError(f"the BFCL family needs bfcl-eval ({e}). Install it without its heavy dependencies: "
                        f"pip install --no-deps bfcl-eval=={BFCL_VERSION} mpmath (launch/setup.sh does).") from e
    return types.SimpleNamespace(utils=utils, prompts=default_prompts, backends=backends,
                                 checker=multi_turn_checker, executor=multi_turn_utils)


def check_category(category: str) -> str:
    if category not in CATEGORIES:
        raise BfclError(f"unknown BFCL multi-turn category {category!r}; choose one of {list(CATEGORIES)}.")
    return category


@functools.cache
def bfcl_entries(category: str) -> dict[str, tuple[dict[str, Any], list[list[str]]]]:
    """{task id: (BFCL's test entry with its function docs, its ground truth: call strings per user turn)}."""
    bfcl = load_bfcl()
    name = f"multi_turn_{check_category(category)}"
    truth = {g["id"]: g["ground_truth"] for g in bfcl.utils.load_ground_truth_entry(name)}
    return {e["id"]: (e, truth[e["id"]]) for e in bfcl.utils.load_dataset_entry(name)}


def bfcl_entry(category: str, task_id: str) -> tuple[dict[str, Any], list[list[str]]]:
    found = bfcl_entries(category).get(task_id)
    if found is None:
        raise BfclError(f"BFCL {category} has no task {task_id!r}; list them with "
                        "agentrl.registry.tasks('bfcl/...', split).")
    return found


def split_of(task_id: str) -> str:
    return "test" if int(task_id.rsplit("_", 1)[1]) % 4 == 0 else "train"


@functools.cache
def backend_class(class_name: str) -> type:
    bfcl = load_bfcl()
    module = __import__(bfcl.backends.CLASS_FILE_PATH_MAPPING[class_name], fromlist=[class_name])
    return getattr(module, class_name)


def owner_of(entry: Mapping[str, Any], method: str) -> str | None:
    """The involved backend class that has `method` (BFCL's method names are unique across its classes)."""
    return next((c for c in entry["involved_classes"] if callable(getattr(backend_class(c), method, None))), None)


class BfclWorld:
    """One episode's backend instances, built and loaded as BFCL's executor builds them."""

    def __init__(self, category: str, entry: Mapping[str, Any]):
        stateless = load_bfcl().backends.STATELESS_CLASSES
        self.instances: dict[str, Any] = {}
        for name in entry["involved_classes"]:
            instance = backend_class(name)()
            if name not in stateless:
                instance._load_scenario(copy.deepcopy(entry["initial_config"].get(name, {})),
                                        long_context=category == "long_context")
            self.instances[name] = instance

    def snapshot(self) -> dict[str, Any]:
        """The public attributes of each instance (what BFCL's state check compares), made JSON-able."""
        return {c: {k: _plain(v) for k, v in vars(i).items() if not k.startswith("_")}
                for c, i in self.instances.items()}


def _plain(value: Any) -> Any:
    # Backend objects (the file system's directories) point back to their parents; their repr does not.
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value if value is None or isinstance(value, (str, int, float, bool)) else repr(value)


def bfcl_render(value: Any, tool: Any = None) -> str:
    """A result as BFCL's executor turns it into text: a string as it is, a dict as JSON (else ``str``)."""
    if type(value) is str:
        return value
    if type(value) is dict:
        try:
            return json.dumps(value)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def _method_runner(class_name: str, method: str) -> Any:
    def run(domain: BfclWorld, **arguments: Any) -> Any:
        try:
            return getattr(domain.instances[class_name], method)(**arguments)
        except Exception as e:  # BFCL answers a failing call with the error text; so do we  # noqa: BLE001
            return ToolResult(f"Error during execution: {e}", is_error=True)
    return run


def _failed(result: Any) -> bool:
    return isinstance(result, dict) and "error" in result


@functools.cache
def _documents(category: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """{function name: (owning class, BFCL's function doc)} over the category's tasks."""
    docs: dict[str, tuple[str, dict[str, Any]]] = {}
    for entry, _ in bfcl_entries(category).values():
        held_out = [d for turn in entry.get("missed_function", {}).values() for d in turn]
        for doc in [*entry["function"], *held_out]:
            owner = owner_of(entry, doc["name"])
            if owner is None:
                raise BfclError(f"BFCL function {doc['name']!r} belongs to none of {entry['involved_classes']}.")
            docs.setdefault(doc["name"], (owner, doc))
    return docs


def bfcl_tools(category: str, timeout: float | None = 10.0) -> list[Tool]:
    """Every function of the category's backends, from BFCL's own function documents."""
    return [Tool.from_document(doc, _method_runner(owner, name), validation="none", is_error=_failed,
                               timeout=timeout) for name, (owner, doc) in _documents(check_category(category)).items()]


def make_env(category: str = "base", max_turns: int = MAX_TURNS) -> ToolEnv:
    """The `ToolEnv` for one BFCL multi-turn category (the registry's entry point)."""
    check_category(category)

    def world(task: Task, seed: int) -> BfclWorld:
        return BfclWorld(category, bfcl_entry(category, task.id)[0])

    return ToolEnv(bfcl_tools(category), world, system_prompt=SYSTEM_PROMPT, max_turns=max_turns,
                   max_steps_per_user_turn=MAX_STEPS_PER_USER_TURN, render=bfcl_render,
                   snapshot_states=category != "long_context")  # long-context states are megabytes


def task_of(category: str, entry: Mapping[str, Any]) -> Task:
    """Our Task for a BFCL entry: the first question as the prompt, the later ones as scripted user turns."""
    missed = {int(k): [d["name"] for d in docs] for k, docs in entry.get("missed_function", {}).items()}
    turns = []
    for i, messages in enumerate(entry["question"][1:], start=1):
        if i in missed:  # BFCL's held-out turn has no question: the new functions and a fixed message
            turns.append({"content": load_bfcl().prompts.DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC,
                          "add_tools": missed[i]})
        else:
            turns.append({"content": "\n\n".join(m["content"] for m in messages)})
    kwargs: dict[str, Any] = {"tools": [d["name"] for d in entry["function"]],
                              "hidden_tools": [n for names in missed.values() for n in names]}
    if turns:
        kwargs["user_turns"] = turns
    return Task(id=entry["id"], prompt=tuple(entry["question"][0]), split=split_of(entry["id"]),
                reference={"category": category, "involved_classes": list(entry["involved_classes"])},
                env_kwargs=kwargs)


def tasks(category: str, split: str = "train") -> list[Task]:
    if split not in ("train", "test"):
        raise BfclError(f"BFCL splits are 'train' and 'test', got {split!r}.")
    return [task_of(category, e) for e, _ in bfcl_entries(category).values() if split_of(e["id"]) == split]


def base_tasks(split: str = "train") -> list[Task]:
    return tasks("base", split)


def miss_func_tasks(split: str = "train") -> list[Task]:
    return tasks("miss_func", split)


def miss_param_tasks(split: str = "train") -> list[Task]:
    return tasks("miss_param", split)


def long_context_tasks(split: str = "train") -> list[Task]:
    return tasks("long_context", split)


def call_string(name: str, arguments: Mapping[str, Any]) -> str:
    """A call as BFCL's function-calling handlers write it for the checker: ``name(key=repr(value),...)``."""
    return f"{name}({','.join(f'{k}={v!r}' for k, v in arguments.items())})"


def decoded_turns(episode: Episode) -> list[list[list[str]]]:
    """The episode's calls as BFCL's checker takes them: per user turn, per reply with calls, call strings."""
    turns: list[list[list[str]]] = []
    for turn in episode.turns:
        index = int(turn.info.get("user_turn", 0))
        while len(turns) <= index:
            turns.append([])
        calls = turn.info.get("tool_calls", [])
        if calls:
            turns[index].append([call_string(c["name"], c["arguments"]) for c in calls])
    return turns


_names = itertools.count()
_names_lock = threading.Lock()


def bfcl_check(category: str, task_id: str, decoded: Sequence[Sequence[Sequence[str]]]) -> dict[str, Any]:
    """BFCL's verdict on a decoded trajectory: its runner's turn-count check, then `multi_turn_checker`."""
    bfcl = load_bfcl()
    entry, truth = bfcl_entry(category, task_id)
    if len(decoded) != len(truth):
        return {"valid": False, "error_type": "multi_turn:force_terminated",
                "error_message": f"{len(decoded)} user turns answered, {len(truth)} asked."}
    with _names_lock:
        model = f"agentrl_{next(_names)}"
    try:
        return bfcl.checker.multi_turn_checker([list(map(list, t)) for t in decoded], truth, entry,
                                               f"multi_turn_{category}", model)
    finally:
        cache = vars(bfcl.executor)
        for key in [k for k in cache if k.startswith(model + "_")]:
            del cache[key]


def bfcl_reward(episode: Episode, task: Task) -> Score:
    """Outcome reward: 1 when BFCL's multi-turn checker accepts the episode's calls, else 0."""
    result = bfcl_check(task.reference["category"], task.id, decoded_turns(episode))
    return Score(float(bool(result["valid"])), {k: result[k] for k in ("error_type", "error_message") if k in result})


def rubric() -> Rubric:
    return Rubric(outcome={"bfcl": bfcl_reward}, env_weight=0.0)


def method_parameters(entry: Mapping[str, Any], method: str) -> list[str]:
    """The parameter names of a backend method, in order (to name a ground-truth call's positional arguments)."""
    owner = owner_of(entry, method)
    if owner is None:
        raise BfclError(f"{method!r} is a method of none of {entry['involved_classes']}.")
    return [p for p in inspect.signature(getattr(backend_class(owner), method)).parameters if p != "self"]
