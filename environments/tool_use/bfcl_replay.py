"""Scripted BFCL trajectories: the gold replay (`gold_policy`, the registry's scripted policy), near-miss mutations
of it, and the conformance sweep that holds the env's verdict to BFCL's own checker on all of them.

A trajectory is a list per user turn of ``(name, arguments)`` calls. `replay_policy` plays one through the env:
each user turn's calls in one reply (parallel calls, run in order), then a reply without calls that ends the turn.

Mutations of the gold trajectory (`mutations`), each chosen by a generator seeded with the task id and kind:
- ``drop_call``: one call removed;
- ``change_argument``: one argument of one call changed (a string gets a suffix, a number +1, a boolean
  flipped, a list one more item, a dict one more key);
- ``add_state_change``: one call appended to a turn that changes the backends' state there (tried on a copy of
  the gold state at that point, from a short list per backend class, then the task's own gold calls repeated;
  the first that changes it is taken).

`conformance(category, split)` runs the gold trajectory and every mutation through the registered env (the env's
verdict: its rubric on the episode) and straight through BFCL (`multi_turn_checker` on the trajectory as BFCL's
function-calling pipeline records it, one step per turn), and counts the cases where the two agree.

    python -m agentrl.environments.tool_use.bfcl_replay train   # the sweep, every category, printed
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import copy
import dataclasses
import random
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from agentrl.environments.tool_use.bfcl import (
    CATEGORIES,
    BfclError,
    BfclWorld,
    bfcl_entry,
    call_string,
    load_bfcl,
    method_parameters,
    owner_of,
    rubric,
    tasks,
)
from agentrl.environments.tool_use.parsing import format_tool_call
from agentrl.policy_contract import ScriptedPolicy
from agentrl.types import Task

Call = tuple[str, dict[str, Any]]
Trajectory = list[list[Call]]
MUTATIONS = ("drop_call", "change_argument", "add_state_change")
DONE = "Done."

# Calls that write to each backend's state when its preconditions hold (tried in order).
_STATE_CHANGES: dict[str, list[Call]] = {
    "GorillaFileSystem": [("touch", {"file_name": "agentrl_extra.txt"}), ("mkdir", {"dir_name": "agentrl_extra"})],
    "MessageAPI": [("add_contact", {"user_name": "agentrl_extra"}),
                   ("send_message", {"receiver_id": "USR002", "message": "agentrl extra"})],
    "TwitterAPI": [("post_tweet", {"content": "agentrl extra"}), ("follow_user", {"username_to_follow": "agentrl"})],
    "TicketAPI": [("create_ticket", {"title": "agentrl extra"})],
    "TradingBot": [("add_to_watchlist", {"stock": "ZETA"}), ("fund_account", {"amount": 1.0})],
    "TravelAPI": [("authenticate_travel", {"client_id": "agentrl", "client_secret": "extra", "refresh_token": "extra",
                                           "grant_type": "read_write", "user_first_name": "Ann",
                                           "user_last_name": "Lee"})],
    "VehicleControlAPI": [("setHeadlights", {"mode": "on"}), ("setHeadlights", {"mode": "off"}),
                          ("fillFuelTank", {"fuelAmount": 1.0}), ("set_navigation", {"destination": "Elsewhere"})],
}


def parse_call(entry: Mapping[str, Any], text: str) -> Call:
    """A ground-truth call string (``mv(source='a', destination='b')``, positional arguments too) as a call."""
    node = ast.parse(text, mode="eval").body
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise BfclError(f"a BFCL ground-truth call must be a plain function call, got {text!r}.")
    names = method_parameters(entry, node.func.id)
    arguments = {names[i]: ast.literal_eval(a) for i, a in enumerate(node.args)}
    arguments.update({k.arg: ast.literal_eval(k.value) for k in node.keywords})
    return node.func.id, arguments


def gold_calls(task: Task) -> Trajectory:
    entry, truth = bfcl_entry(task.reference["category"], task.id)
    return [[parse_call(entry, c) for c in turn] for turn in truth]


def replay_policy(trajectory: Sequence[Sequence[Call]], seed: int = 0) -> ScriptedPolicy:
    """Plays `trajectory`: the current user turn's calls in one reply, then a reply without calls."""

    def script(agent: str, messages: Sequence[Mapping[str, Any]], rng: Any) -> str:
        turn = sum(m["role"] == "user" for m in messages) - 1
        calls = trajectory[turn] if 0 <= turn < len(trajectory) else []
        if messages[-1]["role"] == "tool" or not calls:
            return DONE
        return "\n".join(format_tool_call(name, args) for name, args in calls)

    return ScriptedPolicy(script, seed=seed)


def gold_policy(seed: int = 0, task: Task | None = None) -> ScriptedPolicy:
    """The registry's scripted policy: replays the task's ground truth (BFCL's checker accepts it)."""
    if task is None:
        raise ValueError("gold_policy replays a task's ground truth; pass task= (check_env does).")
    return replay_policy(gold_calls(task), seed)


def bfcl_trajectory(trajectory: Sequence[Sequence[Call]]) -> list[list[list[str]]]:
    """The trajectory as BFCL's function-calling pipeline hands it to the checker (empty steps dropped)."""
    return [[[call_string(n, a) for n, a in turn]] if turn else [] for turn in trajectory]


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "_x"
    if isinstance(value, list):
        return [*value, value[0] if value else "x"]
    if isinstance(value, dict):
        return {**value, "agentrl_extra": 1}
    return "x"


def _run(world: BfclWorld, entry: Mapping[str, Any], call: Call) -> None:
    owner = owner_of(entry, call[0])
    with contextlib.suppress(Exception):  # a failing call leaves the state as BFCL's executor would
        getattr(world.instances[owner], call[0])(**call[1])


def _state(world: BfclWorld) -> dict[str, dict[str, Any]]:
    return {c: {k: v for k, v in vars(i).items() if not k.startswith("_")} for c, i in world.instances.items()}


def _state_change(task: Task, gold: Trajectory, rng: random.Random) -> Trajectory | None:
    entry, _ = bfcl_entry(task.reference["category"], task.id)
    turns = [i for i, t in enumerate(gold) if t]
    rng.shuffle(turns)
    for index in turns:
        world = BfclWorld(task.reference["category"], entry)
        for call in (c for t in gold[:index + 1] for c in t):
            _run(world, entry, call)
        before = copy.deepcopy(_state(world))
        fixed = [c for cls in entry["involved_classes"] for c in _STATE_CHANGES.get(cls, [])]
        for call in [*fixed, *(c for t in gold for c in t)]:  # then the task's own calls, repeated
            trial = copy.deepcopy(world)
            _run(trial, entry, call)
            if _state(trial) != before:
                out = [list(t) for t in gold]
                out[index].append(call)
                return out
    return None


def mutations(task: Task) -> dict[str, Trajectory | None]:
    """The three near-miss versions of the task's gold trajectory (None where a kind cannot apply)."""
    gold = gold_calls(task)
    out: dict[str, Trajectory | None] = {}
    positions = [(i, j) for i, t in enumerate(gold) for j in range(len(t))]
    rng = random.Random(f"{task.id}:drop_call")
    if positions:
        i, j = rng.choice(positions)
        out["drop_call"] = [[c for k, c in enumerate(t) if (n, k) != (i, j)] for n, t in enumerate(gold)]
    else:
        out["drop_call"] = None
    rng = random.Random(f"{task.id}:change_argument")
    with_args = [(i, j) for i, j in positions if gold[i][j][1]]
    if with_args:
        i, j = rng.choice(with_args)
        name, args = gold[i][j]
        key = rng.choice(sorted(args))
        changed = [list(t) for t in gold]
        changed[i][j] = (name, {**args, key: _changed(args[key])})
        out["change_argument"] = changed
    else:
        out["change_argument"] = None
    out["add_state_change"] = _state_change(task, gold, random.Random(f"{task.id}:add_state_change"))
    return out


@dataclasses.dataclass(frozen=True)
class Case:
    task_id: str
    kind: str  # "gold" or one of MUTATIONS
    env_valid: bool
    bfcl_valid: bool
    bfcl_error: str | None
    results_match: bool | None = None  # gold only: the env's tool results equal BFCL's executor's, call by call

    @property
    def agrees(self) -> bool:
        return self.env_valid == self.bfcl_valid and self.results_match is not False


def bfcl_direct(task: Task, trajectory: Sequence[Sequence[Call]]) -> dict[str, Any]:
    """BFCL's own checker on the trajectory, with no part of this env involved."""
    bfcl = load_bfcl()
    category = task.reference["category"]
    entry, truth = bfcl_entry(category, task.id)
    model = f"agentrl_direct_{abs(hash((task.id, repr(trajectory))))}"
    try:
        return bfcl.checker.multi_turn_checker(bfcl_trajectory(trajectory), truth, entry, f"multi_turn_{category}",
                                               model)
    finally:
        cache = vars(bfcl.executor)
        for key in [k for k in cache if k.startswith(model + "_")]:
            del cache[key]


def bfcl_execution(task: Task, trajectory: Sequence[Sequence[Call]]) -> list[list[str]]:
    """What BFCL's executor answers to each call of the trajectory, turn by turn, as in its inference loop."""
    bfcl = load_bfcl()
    category = task.reference["category"]
    entry, _ = bfcl_entry(category, task.id)
    model = f"agentrl_exec_{abs(hash((task.id, repr(trajectory))))}"
    try:
        return [bfcl.executor.execute_multi_turn_func_call(
                    [call_string(n, a) for n, a in turn], entry["initial_config"], entry["involved_classes"], model,
                    task.id, long_context=category == "long_context")[0] for turn in trajectory]
    finally:
        cache = vars(bfcl.executor)
        for key in [k for k in cache if k.startswith(model + "_")]:
            del cache[key]


def env_results(episode: Any) -> list[list[str]]:
    """The tool results the env showed, per user turn."""
    out: list[list[str]] = []
    for turn in episode.turns:
        index = int(turn.info.get("user_turn", 0))
        while len(out) <= index:
            out.append([])
        out[index].extend(c["result"] for c in turn.info.get("tool_calls", []))
    return out


async def run_case(env_id: str, task: Task, kind: str, trajectory: Sequence[Sequence[Call]]) -> Case:
    import agentrl
    from agentrl.rollout import run_episode

    env = agentrl.make(env_id)
    try:
        episode = await run_episode(env, replay_policy(trajectory), task, seed=0, rubric=rubric(), env_id=env_id)
    finally:
        await env.close()
    if episode.status.is_failure:
        raise RuntimeError(f"{env_id} {task.id} {kind}: the episode failed ({episode.status}): {episode.error}")
    direct = bfcl_direct(task, trajectory)
    results = env_results(episode) == bfcl_execution(task, trajectory) if kind == "gold" else None
    return Case(task.id, kind, episode.outcome_rewards["assistant"]["bfcl"] == 1.0, bool(direct["valid"]),
                direct.get("error_type"), results)


def env_id_of(category: str) -> str:
    return "bfcl/MultiTurn" + "".join(p.capitalize() for p in category.split("_")) + "-v0"


async def conformance(category: str, split: str, limit: int | None = None) -> list[Case]:
    """Gold and mutated trajectories of every task of a split, through the env and through BFCL."""
    cases = []
    for task in tasks(category, split)[:limit]:
        cases.append(await run_case(env_id_of(category), task, "gold", gold_calls(task)))
        for kind, trajectory in mutations(task).items():
            if trajectory is not None:
                cases.append(await run_case(env_id_of(category), task, kind, trajectory))
    return cases


def summary(category: str, split: str, cases: Sequence[Case]) -> str:
    kinds = {k: [c for c in cases if c.kind == k] for k in ("gold", *MUTATIONS)}
    parts = [f"{k} {sum(c.agrees for c in v)}/{len(v)} agree ({sum(c.bfcl_valid for c in v)} pass BFCL)"
             for k, v in kinds.items()]
    parts.append(f"gold tool results equal BFCL's executor's in {sum(bool(c.results_match) for c in kinds['gold'])}"
                 f"/{len(kinds['gold'])}")
    return (f"bfcl {category} {split}: {sum(c.agrees for c in cases)}/{len(cases)} cases agree; "
            + "; ".join(parts))


def main(argv: Sequence[str]) -> int:
    split = argv[0] if argv else "test"
    categories = argv[1:] or CATEGORIES
    disagreements = 0
    for category in categories:
        cases = asyncio.run(conformance(category, split))
        print(summary(category, split, cases), flush=True)
        for c in cases:
            if not c.agrees:
                disagreements += 1
                print(f"  DISAGREE {c.task_id} {c.kind}: env {c.env_valid}, bfcl {c.bfcl_valid} ({c.bfcl_error}), "
                      f"results match {c.results_match}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
