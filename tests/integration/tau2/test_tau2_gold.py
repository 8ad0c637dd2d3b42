"""tau2 test splits replayed with gold actions: our reward equals tau2's evaluator on the same trajectory.

For every task of the test split of airline, retail and telecom:
- the gold replay (gold actions by their requestor, communicate_info said, user stops) runs through our env
  and rollout loop; the reference is built straight from tau2 (its environment answering the same calls, its
  `evaluate_simulation` scoring), with no code of ours in between;
- the same with the task's last database write removed.
The table printed at the end (run with -s) is the one in the closing note.

CI replays the first AGENTRL_TAU2_TASKS tasks of each test split (default 4, about a minute in all);
AGENTRL_TAU2_TASKS=0 replays the full splits (20 + 40 + 40 tasks, several minutes on 2 cores, mostly tau2's
own database loading and hashing).
"""

import asyncio
import os
import time

import pytest

import agentrl
from agentrl import registry
from agentrl.environments.tool_use import tau2 as t2
from agentrl.rollout import run_episode

DOMAIN_IDS = {"airline": "tau2/Airline-v0", "retail": "tau2/Retail-v0", "telecom": "tau2/Telecom-v0"}


def reference_reward(domain: str, task, drop: tuple[int, ...]) -> float:
    """Build the replay conversation with tau2's classes only and score it with tau2's evaluator."""
    from tau2.data_model.message import AssistantMessage, ToolCall, UserMessage
    from tau2.data_model.simulation import SimulationRun, TerminationReason
    from tau2.evaluator.evaluator import EvaluationType, evaluate_simulation

    env = t2.new_environment(domain)
    init = task.initial_state
    env.set_state(init.initialization_data if init else None, init.initialization_actions if init else None, [])
    messages = [AssistantMessage(role="assistant", content="Hi! How can I help you today?")]
    criteria = task.evaluation_criteria
    for i, action in enumerate(criteria.actions or []):
        if i in drop:
            continue
        call = ToolCall(id=f"ref_{i}", name=action.name, arguments=action.arguments, requestor=action.requestor)
        cls = AssistantMessage if action.requestor == "assistant" else UserMessage
        messages += [cls(role=action.requestor, tool_calls=[call]), env.get_response(call)]
    info = criteria.communicate_info or []
    messages += [AssistantMessage(role="assistant", content="All done. " + " ".join(info)),
                 UserMessage(role="user", content="###STOP###")]
    run = SimulationRun(id="ref", task_id=task.id, start_time="", end_time="", duration=0.0,
                        termination_reason=TerminationReason.USER_STOP, messages=messages)
    return evaluate_simulation(run, task, EvaluationType.ALL, solo_mode=False, domain=domain).reward


async def our_reward(env_id: str, task, drop: tuple[int, ...]) -> float:
    tau2_task = t2.tau2_tasks(DOMAIN_IDS_REV[env_id], "test")[task.id]
    episode = await run_episode(agentrl.make(env_id), t2.GoldReplay(tau2_task, drop).policies(), task, 0,
                                registry.rubric(env_id), max_turns=registry.spec(env_id).max_turns)
    assert episode.status.value == "ok", episode.error
    return episode.outcome_rewards["assistant"]["tau2"]


DOMAIN_IDS_REV = {v: k for k, v in DOMAIN_IDS.items()}
TABLE: list[tuple] = []


@pytest.mark.parametrize("domain", list(DOMAIN_IDS))
def test_gold_replays_score_what_tau2_says(domain):
    env_id = DOMAIN_IDS[domain]
    started = time.monotonic()
    tasks = registry.tasks(env_id, "test")
    assert len(tasks) >= 20
    limit = int(os.environ.get("AGENTRL_TAU2_TASKS", "4"))
    tasks = tasks[:limit] if limit else tasks
    gold_agree = minus_agree = gold_pass = minus_fail = with_write = 0
    disagreements = []
    for task in tasks:
        tau2_task = t2.tau2_tasks(domain, "test")[task.id]
        writes = t2.write_tool_indices(domain, tau2_task)
        drop = (writes[-1],) if writes else ()
        gold_ours, gold_ref = asyncio.run(our_reward(env_id, task, ())), reference_reward(domain, tau2_task, ())
        minus_ours, minus_ref = (asyncio.run(our_reward(env_id, task, drop)), reference_reward(domain, tau2_task, drop))
        with_write += bool(drop)
        gold_agree += gold_ours == gold_ref
        minus_agree += minus_ours == minus_ref
        gold_pass += gold_ours == 1.0
        minus_fail += bool(drop) and minus_ours == 0.0
        if gold_ours != gold_ref or minus_ours != minus_ref:
            disagreements.append((task.id, gold_ours, gold_ref, minus_ours, minus_ref))
    TABLE.append((domain, len(tasks), f"{gold_agree}/{len(tasks)}", f"{minus_agree}/{len(tasks)}", gold_pass,
                  f"{minus_fail}/{with_write}", round(time.monotonic() - started, 1)))
    print("\n| domain | tasks | gold agreement | minus-last-write agreement | gold scores 1 "
          "| minus-last-write scores 0 (of tasks with a write) | s |")
    for row in TABLE:
        print("| " + " | ".join(str(c) for c in row) + " |")
    assert not disagreements, disagreements
