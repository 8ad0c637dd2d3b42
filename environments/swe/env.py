"""`SWEEnv`: fix a bug in a repository inside a sandbox, multi-turn, graded like SWE-bench on submit.

    reset(task) -> system prompt + problem statement; a fresh sandbox from the instance's image (repo at
                   /work/repo, at base_commit, with the tests the agent may see)
    step(reply) -> runs the actions in the reply, answers with their output (capped, with a note when cut)
    submit      -> the diff against base_commit is graded in another fresh sandbox (grader.py); the episode ends

Actions are tool calls in the project's format (``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``,
see environments/tool_use/parsing.py), several per reply allowed, run in order:
- ``bash(command)``: run a shell command in the repo (no network; the per-command time limit applies);
- ``edit(path, old, new)``: replace the one occurrence of `old` in `path` (empty `old` creates the file);
- ``submit()``: hand in the current changes.
A reply with no tool call but a fenced ```bash block runs that block. Anything else is answered with the
format. After `max_steps` replies the changes are submitted automatically.

Turn infos (read by the rubric): ``actions`` [names], ``command_ok`` (all commands exited 0, None if none ran),
``edit_applied`` (all edits applied, None if none), ``patch_applies`` (on submit: the patch applied in the
grader's sandbox), ``grade`` (on submit: the SWE-bench report of results.GradeResult).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Mapping
from typing import Any

from agentrl.env import StepResult
from agentrl.environments.swe.grader import REPO, Grader, SandboxFactory, collect_patch, docker_factory
from agentrl.environments.swe.tasks import SWEInstance, instance_of, shipped_instances
from agentrl.environments.tool_use.parsing import parse_tool_calls
from agentrl.errors import RewardError
from agentrl.policy_contract import ScriptedPolicy
from agentrl.sandbox.base import Sandbox, SandboxError, SandboxLimits
from agentrl.types import Task
from agentrl.verifiers import Gated, Rubric

AGENT = "agent"
AGENT_LIMITS = SandboxLimits(memory=1024 * 2**20, cpus=1.0, pids=256, disk=256 * 2**20, command_timeout=60.0,
                             episode_timeout=3600.0, output_cap=64 * 2**10)
_FENCE = re.compile(r"```(?:bash|sh|shell)\s*\n(.*?)```", re.DOTALL)
SYSTEM_PROMPT = """\
You are fixing a bug in the Python repository at /work/repo (your shell starts there). There is no network.
Act with tool calls, one or more per reply, each written as
<tool_call>{"name": "bash", "arguments": {"command": "grep -rn 'def parse' ."}}</tool_call>
Tools:
- bash(command): run a shell command in the repository and see its output.
- edit(path, old, new): replace the single occurrence of the text `old` in the file `path` with `new`.
- submit(): hand in your changes (the diff against the original commit) to be tested. This ends the task.
Change the library code, not the tests: edits to test files are discarded before grading."""


def cap_output(text: str, limit: int, cut_upstream: bool = False) -> str:
    """`text` within `limit` characters: head and tail kept, with a note saying what was cut."""
    if len(text) <= limit:
        return text + ("\n[output cut by the sandbox: only its beginning is shown]" if cut_upstream else "")
    head, tail = text[: limit * 2 // 3], text[-(limit // 3):]
    return f"{head}\n[output cut: {len(text) - len(head) - len(tail)} characters omitted]\n{tail}"


class SWEEnv:
    """One sandbox per episode; see the module docstring. `sandboxes(image)` gives the agent's sandbox,
    `pool` (a SandboxPool of the task's image) may be given instead; `grader` grades in its own sandboxes."""

    possible_agents = (AGENT,)

    def __init__(self, *, sandboxes: SandboxFactory | None = None, pool: Any = None, grader: Grader | None = None,
                 max_steps: int = 30, max_output: int = 8000, command_timeout: float = 60.0):
        self._factory = sandboxes or docker_factory(AGENT_LIMITS, {"agentrl.swe": "episode"})
        self._pool = pool
        self.grader = grader or Grader()
        self.max_steps, self.max_output, self.command_timeout = max_steps, max_output, command_timeout
        self.sandbox: Sandbox | None = None
        self.instance: SWEInstance | None = None
        self._lease: contextlib.AbstractAsyncContextManager | None = None
        self._steps = 0

    async def reset(self, task: Task, seed: int) -> dict:
        await self._release()
        self.instance = instance_of(task)
        self._steps = 0
        if self._pool is not None:
            self._lease = self._pool.acquire()
            self.sandbox = await self._lease.__aenter__()
        else:
            self.sandbox = await self._factory(self.instance.image)
        intro = (f"Instance: {self.instance.instance_id} (repository {self.instance.repo}, checked out at "
                 f"/work/repo)\n\n{self.instance.problem_statement}")
        return {AGENT: [{"role": "system", "content": SYSTEM_PROMPT}, *task.prompt, {"role": "user", "content": intro}]}

    async def step(self, actions: Mapping[str, str]) -> StepResult:
        self._steps += 1
        calls, errors = _actions(actions[AGENT])
        outputs, info = list(errors), {"actions": [], "command_ok": None, "edit_applied": None}
        submitted = False
        for name, args in calls:
            info["actions"].append(name)
            if name == "submit":
                submitted = True
                break
            if name == "bash":
                outputs.append(await self._bash(args, info))
            elif name == "edit":
                outputs.append(await self._edit(args, info))
            else:
                info["actions"][-1] = "invalid"
                outputs.append(f"unknown tool {name!r}; the tools are bash, edit and submit.")
        if not calls:
            info["actions"].append("invalid")
        if submitted or self._steps >= self.max_steps:
            grade = await self._submit()
            report = {k: v for k, v in grade.report().items() if k != "seconds"}  # same seed, same episode
            info.update(grade=report, patch_applies=grade.patch_applied if grade.patch_exists else None,
                        auto_submitted=not submitted)
            return StepResult({}, {AGENT: 0.0}, {AGENT: True}, {AGENT: False}, {AGENT: info})
        text = "\n\n".join(outputs) or "(no output)"
        return StepResult({AGENT: text}, {AGENT: 0.0}, {AGENT: False}, {AGENT: False}, {AGENT: info})

    async def _bash(self, args: Mapping[str, Any], info: dict) -> str:
        command = args.get("command")
        if not isinstance(command, str) or not command.strip():
            info["command_ok"] = False
            return "bash needs a non-empty \"command\" string."
        result = await self.sandbox.exec(command, cwd=REPO, timeout=self.command_timeout)
        info["command_ok"] = result.ok and info["command_ok"] is not False
        text = cap_output(result.stdout + result.stderr, self.max_output,
                          result.stdout_truncated or result.stderr_truncated).rstrip("\n")
        status = f"[timed out after {self.command_timeout} s]" if result.timed_out else f"[exit code {result.exit_code}]"
        return f"{text}\n{status}" if text else status

    async def _edit(self, args: Mapping[str, Any], info: dict) -> str:
        path, old, new = args.get("path"), args.get("old", ""), args.get("new")
        ok, message = False, ""
        if not isinstance(path, str) or not isinstance(old, str) or not isinstance(new, str):
            message = "edit needs string arguments path, old and new."
        else:
            full = path if path.startswith("/") else f"{self.sandbox.workdir}/{REPO}/{path}"
            try:
                current = "" if not old else (await self.sandbox.read_file(full)).decode()
                count = current.count(old) if old else 0
                if old and count != 1:
                    message = (f"`old` occurs {count} times in {path}; give a longer, unique snippet." if count else
                               f"`old` was not found in {path}; copy it exactly, including indentation.")
                else:
                    await self.sandbox.write_file(full, current.replace(old, new, 1) if old else new)
                    ok, message = True, f"edited {path}"
            except (FileNotFoundError, IsADirectoryError, PermissionError, UnicodeDecodeError) as e:
                message = f"cannot edit {path}: {e}"
        info["edit_applied"] = ok and info["edit_applied"] is not False
        return message

    async def _submit(self):
        try:
            patch = await collect_patch(self.sandbox, self.instance.base_commit)
        except SandboxError:  # the agent broke its repository's git: it submitted nothing usable
            patch = ""
        return await self.grader.grade(self.instance, patch)

    async def _release(self) -> None:
        box, lease = self.sandbox, self._lease
        self.sandbox, self._lease = None, None
        if lease is not None:
            await lease.__aexit__(None, None, None)
        elif box is not None:
            await asyncio.shield(box.close())

    async def close(self) -> None:
        await self._release()


def _actions(reply: str) -> tuple[list[tuple[str, Mapping[str, Any]]], list[str]]:
    parsed = parse_tool_calls(reply)
    calls = [(c.name, c.arguments) for c in parsed.calls]
    if not calls and not parsed.errors:
        block = _FENCE.search(reply)
        if block:
            calls = [("bash", {"command": block.group(1)})]
        else:
            return [], [("No action found. Reply with tool calls such as "
                        '<tool_call>{"name": "bash", "arguments": {"command": "ls"}}</tool_call>, '
                        'or <tool_call>{"name": "submit", "arguments": {}}</tool_call> when done.')]
    return calls, list(parsed.errors)


# --- rewards ------------------------------------------------------------------------------------------------------
def _grade(info: Mapping[str, Any]) -> Mapping[str, Any] | None:
    grade = info.get("grade")
    if grade and grade.get("error"):  # an infrastructure failure is never a 0 for the model
        raise RewardError(f"grading failed: {grade['error']}")
    return grade


def resolved(info) -> float:
    """Outcome: 1 when every FAIL_TO_PASS and PASS_TO_PASS test passes (SWE-bench's resolved)."""
    grade = _grade(info)
    return float(bool(grade and grade["resolved"]))


def partial_credit(info) -> float:
    """Outcome: per-test partial credit from the pass vector (as in VeRPO, with equal weights): each
    FAIL_TO_PASS test now passing earns 1/len(FAIL_TO_PASS), each PASS_TO_PASS test broken costs as much;
    clipped to [0, 1]. Doing nothing earns 0, the full fix 1."""
    grade = _grade(info)
    if not grade:
        return 0.0
    f2p, p2p = grade["tests_status"]["FAIL_TO_PASS"], grade["tests_status"]["PASS_TO_PASS"]
    total = len(f2p["success"]) + len(f2p["failure"])
    return min(1.0, max(0.0, (len(f2p["success"]) - len(p2p["failure"])) / total)) if total else 0.0


def fail_to_pass_fraction(info) -> float:
    grade = _grade(info)
    if not grade:
        return 0.0
    status = grade["tests_status"]["FAIL_TO_PASS"]
    total = len(status["success"]) + len(status["failure"])
    return len(status["success"]) / total if total else 0.0


def command_ok(info) -> float | None:
    return None if info.get("command_ok") is None else float(info["command_ok"])


def edit_applied(info) -> float | None:
    return None if info.get("edit_applied") is None else float(info["edit_applied"])


def patch_applies(info) -> float | None:
    return None if info.get("patch_applies") is None else float(info["patch_applies"])


def rubric() -> Rubric:
    """resolved (1.0) + partial credit (0.5); the turn terms count only in resolved episodes (gated, as in
    G-RA), so an agent cannot farm them by running harmless commands."""
    return Rubric(turn={"command_ok": (command_ok, 0.02), "edit_applied": (edit_applied, 0.02),
                        "patch_applies": (patch_applies, 0.1)},
                  outcome={"resolved": (resolved, 1.0), "partial_credit": (partial_credit, 0.5),
                           "fail_to_pass": (fail_to_pass_fraction, 0.0)},
                  combine=Gated(threshold=1.0, on="resolved"), env_weight=0.0)


# --- scripted policies -----------------------------------------------------------------------------------------------
_INSTANCE = re.compile(r"^Instance: (\S+)", re.MULTILINE)


def _tool(name: str, **arguments: Any) -> str:
    import json
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


def gold_patch_policy(seed: int = 0, instances: Mapping[str, SWEInstance] | None = None) -> ScriptedPolicy:
    """Applies the instance's gold patch with one bash command, then submits."""
    def script(agent, messages, rng):
        known = instances if instances is not None else {i.instance_id: i for i in shipped_instances()}
        found = next((_INSTANCE.search(m.get("content") or "") for m in messages if m["role"] == "user"), None)
        instance = known.get(found.group(1)) if found else None
        applied = any(m["role"] == "assistant" for m in messages)
        if instance is None or not instance.patch or applied:
            return _tool("submit")
        return _tool("bash", command=f"git apply <<'AGENTRL_PATCH_EOF'\n{instance.patch}AGENTRL_PATCH_EOF")

    return ScriptedPolicy(script, seed=seed)


def empty_policy(seed: int = 0) -> ScriptedPolicy:
    """Submits without changing anything (resolves nothing)."""
    return ScriptedPolicy(replies=[_tool("submit")], seed=seed)
