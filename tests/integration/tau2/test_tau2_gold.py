"""tau2 test splits replayed with gold actions: our reward equals tau2's evaluator on every test task.

For every task of the test split of airline, retail and telecom (20 + 40 + 40):
- the gold replay (gold actions by their requestor, communicate_info said, user stops) runs through our env,
  rollout loop and reward (cached databases, cached gold hashes: `tau2.evaluate`);
- the reference is tau2 alone: its environment answers the same calls, its untouched `evaluate_simulation`
  scores, with environments from its own file-reading constructor. No code of ours is in between, and none
  of our caching: each reference runs in a forked child of a process that built the environments once with
  tau2's constructor, so the operating system (copy-on-write), not our code, keeps references apart. The
  child runs on the second core while our side plays the same task;
- the same with the task's last database write removed (a near miss tau2 should score 0).
The table printed at the end (run with -s) is the one in the closing note.
"""

import asyncio
import os
import time

import pytest
from pydantic import BaseModel

import agentrl
from agentrl import registry
from agentrl.environments.tool_use import tau2 as t2
from agentrl.rollout import run_episode

DOMAIN_IDS = {"airline": "tau2/Airline-v0", "retail": "tau2/Retail-v0", "telecom": "tau2/Telecom-v0"}


def reference_reward(domain: str, task, drop: tuple[int, ...], env) -> float:
    """Build the replay conversation with tau2's classes only (answers from `env`) and score it with tau2's
    evaluator under `domain`."""
    from tau2.data_model.message import AssistantMessage, ToolCall, UserMessage
    from tau2.data_model.simulation import SimulationRun, TerminationReason
    from tau2.evaluator.evaluator import EvaluationType, evaluate_simulation

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


class ForkedReference:
    """tau2's own scoring of a replay, in a forked child. The parent builds three environments per domain with
    tau2's constructor (from its files) once; each child hands them out (one answers the replay, two go to
    `evaluate_simulation` through a domain name registered in the child only) and dies, so no state crosses
    from one reference to the next."""

    def __init__(self, domain: str):
        self.domain = domain
        self.envs = [t2.tau2_environment(domain) for _ in range(3)]

    def start(self, task, drop: tuple[int, ...]) -> tuple[int, int]:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: never return into pytest
            status = 0
            try:
                os.close(read)
                from tau2.registry import registry as tau2_registry

                envs = list(self.envs)
                tau2_registry.register_domain(lambda **_: envs.pop(), f"reference-{self.domain}")
                reward = reference_reward(f"reference-{self.domain}", task, drop, envs.pop())
                os.write(write, repr(float(reward)).encode())
            except BaseException as e:  # noqa: BLE001 - reported to the parent, which fails the test
                os.write(write, f"error {e!r}".encode()[:60000])
                status = 1
            finally:
                os._exit(status)
        os.close(write)
        return pid, read

    @staticmethod
    def result(handle: tuple[int, int]) -> float:
        pid, read = handle
        chunks = []
        while chunk := os.read(read, 65536):
            chunks.append(chunk)
        os.close(read)
        os.waitpid(pid, 0)
        text = b"".join(chunks).decode()
        assert not text.startswith("error"), f"tau2's reference failed: {text}"
        return float(text)


async def our_reward(env_id: str, domain: str, task, drop: tuple[int, ...]) -> float:
    tau2_task = t2.tau2_tasks(domain, "test")[task.id]
    episode = await run_episode(agentrl.make(env_id), t2.GoldReplay(tau2_task, drop).policies(), task, 0,
                                registry.rubric(env_id), max_turns=registry.spec(env_id).max_turns)
    assert episode.status.value == "ok", episode.error
    return episode.outcome_rewards["assistant"]["tau2"]


TABLE: list[tuple] = []


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the forked references): on a shared machine the
    wall time says more about the neighbours than about this test."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@pytest.mark.parametrize("domain", list(DOMAIN_IDS))
def test_fresh_environments_match_tau2s_constructor(domain):
    """Our cached databases give the state tau2's own constructor reads from its files."""
    ours, theirs = t2.new_environment(domain), t2.tau2_environment(domain)
    assert ours.get_db_hash() == theirs.get_db_hash()
    assert ours.get_user_db_hash() == theirs.get_user_db_hash()
    assert ours.get_policy() == theirs.get_policy()
    assert [t.name for t in ours.get_tools()] == [t.name for t in theirs.get_tools()]
    # validation builds every container anew: nothing mutable is shared with the cached file data
    cached = set()
    for _, _, data in t2.database_sources(domain):
        cached |= mutable_ids(data)
    for db in [ours.tools.db] + ([ours.user_tools.db] if ours.user_tools else []):
        assert not mutable_ids(db) & cached


def mutable_ids(value, found=None) -> set[int]:
    """ids of every dict, list and model reachable from `value`."""
    found = set() if found is None else found
    if isinstance(value, BaseModel):
        found.add(id(value))
        value = dict(value.__dict__)
    if isinstance(value, dict | list):
        found.add(id(value))
        for item in value.values() if isinstance(value, dict) else value:
            mutable_ids(item, found)
    return found


@pytest.mark.parametrize("domain", list(DOMAIN_IDS))
def test_gold_replays_score_what_tau2_says(domain):
    env_id = DOMAIN_IDS[domain]
    started, cpu = time.monotonic(), cpu_seconds()
    tasks = registry.tasks(env_id, "test")
    assert len(tasks) == {"airline": 20, "retail": 40, "telecom": 40}[domain]
    reference = ForkedReference(domain)
    gold_agree = minus_agree = gold_pass = minus_fail = with_write = 0
    disagreements = []
    for task in tasks:
        tau2_task = t2.tau2_tasks(domain, "test")[task.id]
        writes = t2.write_tool_indices(domain, tau2_task)
        drop = (writes[-1],) if writes else ()
        rewards = {}
        for name, dropped in (("gold", ()), ("minus", drop)):
            handle = reference.start(tau2_task, dropped)  # tau2 scores on the other core meanwhile
            ours = asyncio.run(our_reward(env_id, domain, task, dropped))
            rewards[name] = (ours, ForkedReference.result(handle))
        (gold_ours, gold_ref), (minus_ours, minus_ref) = rewards["gold"], rewards["minus"]
        with_write += bool(drop)
        gold_agree += gold_ours == gold_ref
        minus_agree += minus_ours == minus_ref
        gold_pass += gold_ours == 1.0
        minus_fail += bool(drop) and minus_ours == 0.0
        if gold_ours != gold_ref or minus_ours != minus_ref:
            disagreements.append((task.id, gold_ours, gold_ref, minus_ours, minus_ref))
    TABLE.append((domain, len(tasks), f"{gold_agree}/{len(tasks)}", f"{minus_agree}/{len(tasks)}", gold_pass,
                  f"{minus_fail}/{with_write}", round(time.monotonic() - started, 1), round(cpu_seconds() - cpu, 1)))
    print("\n| domain | tasks | gold agreement | minus-last-write agreement | gold scores 1 "
          "| minus-last-write scores 0 (of tasks with a write) | wall s | CPU s (ours + tau2's) |")
    for row in TABLE:
        print("| " + " | ".join(str(c) for c in row) + " |")
    assert not disagreements, disagreements
