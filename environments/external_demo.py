"""A small external agent program and its env, ``external/SayWord-v0``: the example and test of `ProgramEnv`.

`register()` registers the env (it is not among the built-in envs: `check_env`'s contract checks drive an env
step by step, and a program env plays its whole episode in `reset`). A package would call it from its
``agentrl.envs`` entry point.

The program, `say_word_agent.py` next to this file, is what a user would write: a loop around an
OpenAI-compatible chat API that knows nothing of agentrl (stdlib only, configured by ``OPENAI_BASE_URL`` /
``OPENAI_API_KEY``). It offers one tool, ``say(word)``, answers a tool call with the tool's result and a plain
reply with a reminder, for three requests, then prints the last reply. The verifier checks that the task's
word was said.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from agentrl.environments.external import ProgramRubric, register_program
from agentrl.policy_contract import ScriptedPolicy
from agentrl.types import Task

ENV_ID = "external/SayWord-v0"
PROGRAM = ["{python}", str(Path(__file__).with_name("say_word_agent.py"))]
_ASK = re.compile(r"Say the word (\w+)")
WORDS = ("yes", "no", "ok", "done", "left", "right", "up", "down")


def tasks(split: str = "train") -> list[Task]:
    offset = 0 if split == "train" else 4
    return [Task(id=f"say-{w}", prompt=({"role": "user", "content": f"Say the word {w}."},),
                 reference={"word": w}, split=split) for w in WORDS[offset:offset + 4]]


def said_word(turns, reference, env) -> float:
    """1 when the word was said: as the argument of a `say` call, or in the program's final output."""
    word = reference["word"]
    for turn in turns:
        for call in turn.info.get("tool_calls", ()):
            args = json.loads(call["function"]["arguments"] or "{}")
            if isinstance(args, dict) and str(args.get("word", "")).strip().lower() == word:
                return 1.0
    result = getattr(env, "result", None)
    return float(result is not None and word in result.stdout.lower().split())


def rubric() -> ProgramRubric:
    return ProgramRubric(outcome=[said_word])


def scripted(seed: int = 0) -> ScriptedPolicy:
    """Calls ``say`` with the word the task asks for (read from the conversation), in the tool-call format the
    gateway parses: the episode the program plays with it scores 1."""
    def script(agent, messages, rng) -> str:
        asked = [found for m in messages if m["role"] == "user" and (found := _ASK.search(m.get("content") or ""))]
        word = asked[-1].group(1) if asked else "nothing"
        return f'<tool_call>{{"name": "say", "arguments": {{"word": "{word}"}}}}</tool_call>'

    return ScriptedPolicy(script, seed=seed)


def register(timeout: float = 300.0) -> None:
    register_program(ENV_ID, PROGRAM, timeout=timeout,
                     tasks="agentrl.environments.external_demo:tasks", rubric="agentrl.environments.external_demo:rubric",
                     scripted_policy="agentrl.environments.external_demo:scripted",
                     description="An external OpenAI-API program through the gateway: say the word.", override=True)
