"""Scoring tau2 conversations: tau2's own evaluators, made fast, and tau-bench's pass^k.

tau2's `evaluate_simulation` builds two file-parsed environments per score (one replaying the conversation,
one replaying the gold actions) and hashes both databases: about 3 s per airline episode. `evaluate` uses
`new_environment` (cached database files) and computes the gold side of the database check, which depends on
the task alone, once per task (the same tau2 calls, in the same order, as its evaluator); it then combines
tau2's own environment, action and communication evaluators exactly as `evaluate_simulation` does.
`evaluate_with_tau2` is tau2's untouched entry point, which the tests hold `evaluate` to on every test task.

`tau2_reward` re-scores an episode from the record its terminal step carries (``info["tau2"]``), so a saved
episode can be re-scored without the env. `pass_hat_k` is tau-bench's pass^k: the chance that k independent
tries at a task all succeed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from agentrl.environments.tool_use.tau2_domains import (
    ASSISTANT,
    check_domain,
    find_task,
    load_tau2,
    new_environment,
)
from agentrl.types import Episode
from agentrl.verifiers import Rubric, Score


def _message_from(d: Mapping[str, Any]) -> Any:
    m = load_tau2().message
    return {"assistant": m.AssistantMessage, "user": m.UserMessage, "tool": m.ToolMessage,
            "system": m.SystemMessage}[d["role"]].model_validate(d)


def _simulation(task_id: str, messages: Sequence[Any], termination: str) -> Any:
    t2 = load_tau2()
    msgs = [x if not isinstance(x, Mapping) else _message_from(x) for x in messages]
    return t2.simulation.SimulationRun(id=f"agentrl-{task_id}", task_id=task_id, start_time="", end_time="",
                                       duration=0.0, termination_reason=t2.simulation.TerminationReason(termination),
                                       messages=msgs)


def evaluate_with_tau2(domain: str, task_id: str, messages: Sequence[Any], termination: str) -> Any:
    """tau2's untouched `evaluate_simulation` (ALL) on one conversation: its own constructors, its own files."""
    t2 = load_tau2()
    return t2.evaluator.evaluate_simulation(_simulation(task_id, messages, termination), find_task(domain, task_id),
                                            t2.evaluator.EvaluationType.ALL, solo_mode=False, domain=domain)


def _initial_state(task: Any) -> tuple[Any, Any, list[Any]]:
    init = task.initial_state
    if init is None:
        return None, None, []
    return init.initialization_data, init.initialization_actions, list(init.message_history or [])


@functools.lru_cache(maxsize=4096)
def _gold_hashes(domain: str, task_id: str) -> tuple[str, str | None]:
    """(agent db hash, user db hash) after the task's gold actions: the gold side of tau2's database check,
    by the same calls as its evaluator (gold actions that fail are skipped, as tau2 logs and skips them)."""
    task = find_task(domain, task_id)
    data, actions, history = _initial_state(task)
    gold = new_environment(domain)
    gold.set_state(initialization_data=data, initialization_actions=actions, message_history=history)
    for action in task.evaluation_criteria.actions or []:
        try:
            gold.make_tool_call(tool_name=action.name, requestor=action.requestor, **action.arguments)
        except Exception:  # noqa: BLE001, S110
            pass
    return gold.get_db_hash(), gold.get_user_db_hash()


def _environment_reward(domain: str, task: Any, messages: list[Any]) -> Any:
    """tau2's EnvironmentEvaluator.calculate_reward with the gold hashes taken from `_gold_hashes`."""
    t2 = load_tau2()
    from tau2.data_model.simulation import DBCheck, EnvAssertionCheck
    from tau2.data_model.tasks import RewardType

    criteria = task.evaluation_criteria
    if criteria.actions is None and criteria.env_assertions is None:
        return t2.simulation.RewardInfo(reward=1.0, db_check=DBCheck(db_match=True, db_reward=1.0),
                                        info={"note": "No expected actions or env assertions"})
    data, actions, _ = _initial_state(task)
    predicted = new_environment(domain)
    predicted.set_state(initialization_data=data, initialization_actions=actions, message_history=messages)
    gold_agent, gold_user = _gold_hashes(domain, task.id)
    db_match = gold_agent == predicted.get_db_hash() and gold_user == predicted.get_user_db_hash()
    db_reward = 1.0 if db_match else 0.0
    checks = []
    for assertion in criteria.env_assertions or []:
        met = predicted.run_env_assertion(assertion, raise_assertion_error=False)
        checks.append(EnvAssertionCheck(env_assertion=assertion, met=met, reward=1.0 if met else 0.0))
    assertion_reward = math.prod((c.reward for c in checks), start=1.0)
    reward, breakdown = 1.0, {}
    if RewardType.DB in criteria.reward_basis:
        breakdown[RewardType.DB] = db_reward
        reward *= db_reward
    if RewardType.ENV_ASSERTION in criteria.reward_basis:
        breakdown[RewardType.ENV_ASSERTION] = assertion_reward
        reward *= assertion_reward
    return t2.simulation.RewardInfo(reward=reward, db_check=DBCheck(db_match=db_match, db_reward=db_reward),
                                    env_assertions=checks, reward_basis=criteria.reward_basis,
                                    reward_breakdown=breakdown)


def evaluate(domain: str, task_id: str, messages: Sequence[Any], termination: str) -> Any:
    """tau2's score of one conversation (database, env assertions, actions, communication, per the task's
    reward basis) -> tau2 RewardInfo. Combines tau2's evaluators as its `evaluate_simulation` (ALL) does, with
    cached databases and gold hashes; the tests hold it to `evaluate_with_tau2` on every test task."""
    t2 = load_tau2()
    from tau2.data_model.tasks import RewardType
    from tau2.evaluator.evaluator_action import ActionEvaluator
    from tau2.evaluator.evaluator_communicate import CommunicateEvaluator

    run = _simulation(task_id, messages, termination)
    task = find_task(check_domain(domain), task_id)
    stops = {t2.simulation.TerminationReason.AGENT_STOP, t2.simulation.TerminationReason.USER_STOP}
    if run.termination_reason not in stops:
        return t2.simulation.RewardInfo(reward=0.0, reward_basis=None, info={
            "note": f"Simulation terminated prematurely. Termination reason: {run.termination_reason.value}"})
    if task.evaluation_criteria is None:
        return t2.simulation.RewardInfo(reward=1.0, reward_basis=None, info={"note": "No evaluation criteria"})
    basis = set(task.evaluation_criteria.reward_basis)
    if RewardType.NL_ASSERTION in basis:  # tau2 refuses these under ALL too (they need an LLM judge)
        raise ValueError("NL assertions are part of the reward basis, but they are not being evaluated.")
    parts = {"env": (_environment_reward(domain, task, run.messages), {RewardType.DB, RewardType.ENV_ASSERTION}),
             "action": (ActionEvaluator.calculate_reward(task=task, full_trajectory=run.messages),
                        {RewardType.ACTION}),
             "communicate": (CommunicateEvaluator.calculate_reward(task=task, full_trajectory=run.messages),
                             {RewardType.COMMUNICATE})}
    reward, breakdown = 1.0, {}
    for info, bases in parts.values():  # same order as tau2: env, action, communicate
        if basis & bases:
            breakdown.update(info.reward_breakdown or {})
            reward *= info.reward
    env, action, comm = (parts[k][0] for k in ("env", "action", "communicate"))
    return t2.simulation.RewardInfo(
        reward=reward, db_check=env.db_check, env_assertions=env.env_assertions, action_checks=action.action_checks,
        communicate_checks=comm.communicate_checks, reward_basis=task.evaluation_criteria.reward_basis,
        reward_breakdown=breakdown, info={"env": env.info, "nl": None, "communicate": comm.info, "action": action.info})


def tau2_record(episode: Episode) -> Mapping[str, Any] | None:
    for turn in reversed(episode.turns):
        if "tau2" in turn.info:
            return turn.info["tau2"]
    return None


def tau2_reward(episode: Episode, agent: str) -> Score:
    """Outcome reward of the assistant: tau2's own score of the conversation (None for the user side).
    An episode cut off by our rollout's max_turns has no tau2 record and scores 0, as tau2 scores max steps."""
    if agent != ASSISTANT:
        return Score(None)
    record = tau2_record(episode)
    if record is None:
        return Score(0.0, {"note": "conversation did not finish"})
    result = evaluate(record["domain"], record["task_id"], record["messages"], record["termination"])
    breakdown = {str(getattr(k, "value", k)): v for k, v in (result.reward_breakdown or {}).items()}
    return Score(float(result.reward), {"breakdown": breakdown, "termination": record["termination"]})


def rubric() -> Rubric:
    return Rubric(outcome={"tau2": tau2_reward}, env_weight=0.0)


def pass_hat_k(successes: Mapping[str, Sequence[bool]], k: int) -> float:
    """tau-bench's pass^k: mean over tasks of C(c, k) / C(n, k) for c successes in n >= k tries."""
    if k < 1:
        raise ValueError(f"pass^k needs k >= 1, got {k}.")
    scores = []
    for task_id, tries in successes.items():
        n, c = len(tries), sum(bool(t) for t in tries)
        if n < k:
            raise ValueError(f"task {task_id!r} has {n} tries; pass^{k} needs at least {k} per task.")
        scores.append(math.comb(c, k) / math.comb(n, k))
    if not scores:
        raise ValueError("pass^k of no tasks is undefined; pass at least one task's tries.")
    return sum(scores) / len(scores)


def pass_hat_k_of_episodes(episodes: Sequence[Episode], k: int, term: str = "tau2") -> float:
    """pass^k over episodes grouped by task id; an episode succeeds when its outcome term is 1 (failed
    episodes, which carry no score, are left out rather than counted as failures)."""
    groups: dict[str, list[bool]] = {}
    for ep in episodes:
        if ep.status.is_failure:
            continue
        value = ep.outcome_rewards.get(ASSISTANT, {}).get(term)
        groups.setdefault(ep.task.id, []).append(value is not None and value >= 1.0 - 1e-6)
    return pass_hat_k(groups, k)

