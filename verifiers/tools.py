"""Rewards for tool-use episodes (`agentrl.environments.tool_use`): plain functions with injected arguments.

They read what `ToolEnv` (and `Tau2Env`) put in each turn's info: ``tool_calls`` [{"name", "arguments", "ok",
"result"}], ``tool_errors``, ``parse_errors``, ``final_answer``; and the task's ``reference``:

- `final_state_match` (outcome): the env's final domain state equals ``reference["final_state"]`` (only the
  keys given there are compared, so a reference names just what must hold).
- `expected_calls` (outcome): the fraction of ``reference["expected_calls"]`` ({"name", "arguments"}; only
  the argument keys given are compared) that some successful call matched.
- `tool_call_format` (turn): 1 when every tool call in the reply parsed and named a real tool with good
  arguments, 0 otherwise, None for replies without calls.
- `no_tool_errors` (outcome): 1 when no call in the episode failed.
- `per_user_turn(fn)`: a turn reward that scores each user turn from the state snapshotted after it
  (``info["state"]`` on the reply that ends the turn), so it re-scores from saved records alone;
  `user_turn_state_match` compares that state with ``reference["user_turn_states"][i]``.
- `called(name, **args)`: a checklist check (for `agentrl.verifiers.Checklist` items, CM2 style) that passes
  on a turn that made that call, with the call as evidence.
- `LLMJudge`: a reward asked of any policy with a versioned prompt; verdicts are cached by (version, prompt).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from agentrl.errors import RewardError
from agentrl.rubric import Score
from agentrl.types import Turn


def _calls(turns: Sequence[Turn]) -> list[dict[str, Any]]:
    return [c for t in turns for c in t.info.get("tool_calls", [])]


def _subset_equal(expected: Any, actual: Any) -> bool:
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(k in actual and _subset_equal(v, actual[k])
                                                   for k, v in expected.items())
    if isinstance(expected, float) or isinstance(actual, float):
        try:
            return abs(float(expected) - float(actual)) < 1e-9
        except (TypeError, ValueError):
            return False
    return expected == actual


def final_state_match(env: Any, reference: Mapping[str, Any]) -> Score:
    """1 when the env's final state holds every key/value of reference['final_state']; None without one."""
    if "final_state" not in reference:
        return Score(None)
    state_fn = getattr(env, "state", None)
    if not callable(state_fn):
        raise RewardError("final_state_match needs an env with a state() method (ToolEnv has one); "
                          "score the episode before the env is closed.")
    state = state_fn()
    return Score(float(_subset_equal(reference["final_state"], state)), {"state": state})


def expected_calls(turns: Sequence[Turn], reference: Mapping[str, Any]) -> Score:
    """Fraction of reference['expected_calls'] matched by a successful call; None without any."""
    wanted = reference.get("expected_calls")
    if not wanted:
        return Score(None)
    made = [c for c in _calls(turns) if c.get("ok")]
    missing = [w for w in wanted if not any(c["name"] == w["name"] and _subset_equal(w.get("arguments", {}),
                                                                                    c.get("arguments", {}))
                                            for c in made)]
    return Score(1.0 - len(missing) / len(wanted), {"missing": missing})


def tool_call_format(info: Mapping[str, Any]) -> float | None:
    """Per turn: 1 if all calls were well-formed and accepted, 0 if any was not, None for a plain reply."""
    calls, errors = info.get("tool_calls", []), info.get("tool_errors", [])
    if not calls and not errors:
        return None
    return float(not info.get("parse_errors") and all(c.get("ok") for c in calls) and not errors)


def no_tool_errors(turns: Sequence[Turn]) -> float:
    return float(not any(t.info.get("tool_errors") for t in turns))


def per_user_turn(fn: Any, name: str | None = None) -> Any:
    """A turn reward ``(info, reference) -> float | None`` that calls ``fn(state, reference, user_turn)`` on the
    reply ending each user turn (None on the others). Raises `RewardError` when that reply carries no state
    snapshot (the env was built with ``snapshot_states=False``, or is not a `ToolEnv`)."""

    def score(info: Mapping[str, Any], reference: Mapping[str, Any]) -> Any:
        if not info.get("user_turn_end"):
            return None
        if "state" not in info:
            raise RewardError(f"per-user-turn reward {score.__name__!r} needs the state after user turn "
                              f"{info.get('user_turn')}, but the turn has no info['state'] snapshot; build the "
                              "ToolEnv with snapshot_states=True (the default).")
        return fn(info["state"], reference, info.get("user_turn", 0))

    score.__name__ = name or getattr(fn, "__name__", "per_user_turn")
    return score


def _state_after(state: Any, reference: Mapping[str, Any], user_turn: int) -> Score:
    wanted = reference.get("user_turn_states") or []
    if user_turn >= len(wanted) or wanted[user_turn] is None:
        return Score(None)
    return Score(float(_subset_equal(wanted[user_turn], state)), {"state": state})


user_turn_state_match = per_user_turn(_state_after, "user_turn_state_match")
user_turn_state_match.__doc__ = ("1 when the state after user turn i holds every key/value of "
                                 "reference['user_turn_states'][i]; None on other replies or without one.")


def called(name: str, **arguments: Any):
    """A checklist check: this turn made a successful call to `name` with (at least) these arguments."""

    def check(info: dict) -> tuple[bool, Any]:
        for c in info.get("tool_calls", []):
            if c.get("ok") and c["name"] == name and _subset_equal(arguments, c.get("arguments", {})):
                return True, c
        return False, None

    check.__name__ = f"called_{name}"
    return check


JUDGE_PROMPT_V1 = (
    "You are grading an assistant's work on a task.\n\nTask:\n{task}\n\nCriterion:\n{criterion}\n\n"
    "Conversation:\n{conversation}\n\nDoes the assistant meet the criterion? Think briefly, then end with a line "
    "'VERDICT: YES' or 'VERDICT: NO'."
)
_VERDICT = re.compile(r"VERDICT:\s*(YES|NO)", re.IGNORECASE)


@dataclasses.dataclass
class LLMJudge:
    """An outcome reward asked of a judge `policy` (any agentrl Policy: vLLM, an OpenAI-compatible server, a
    scripted one in tests). The prompt template is versioned: change the wording -> bump `version`, so cached
    and logged verdicts stay comparable. Verdicts are cached by (version, full prompt). An answer without a
    verdict line is recorded as None ("not applicable"), with the raw answer as evidence.

        judge = LLMJudge(policy, criterion="The assistant confirmed the booking before making it.")
        Rubric(outcome={"judge": judge})
    """

    policy: Any
    criterion: str
    template: str = JUDGE_PROMPT_V1
    version: str = "v1"
    cache: dict[str, tuple[float | None, str]] = dataclasses.field(default_factory=dict)

    def prompt(self, task_text: str, conversation: str) -> str:
        return self.template.format(task=task_text, criterion=self.criterion, conversation=conversation)

    async def __call__(self, turns: Sequence[Turn], task: Any) -> Score:
        conversation = "\n".join(f"{m.get('role')}: {m.get('content')}" for t in turns for m in t.messages)
        task_text = " ".join(str(m.get("content")) for m in task.prompt) or task.id
        prompt = self.prompt(task_text, conversation)
        key = hashlib.sha256(f"{self.version}\n{prompt}".encode()).hexdigest()
        if key not in self.cache:
            reply = await self.policy.generate("judge", [{"role": "user", "content": prompt}], None)
            found = _VERDICT.findall(reply.text)
            self.cache[key] = ((1.0 if found[-1].upper() == "YES" else 0.0) if found else None, reply.text)
        value, raw = self.cache[key]
        return Score(value, {"judge_version": self.version, "answer": raw[-500:]})
