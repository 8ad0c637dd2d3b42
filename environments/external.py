"""External programs as environments: any agent that talks to an OpenAI-compatible API, trained unchanged.

    register_program("myorg/MyAgent-v0", program=["python", "my_agent.py"], tasks="my_pkg:tasks",
                     rubric=lambda: ProgramRubric(outcome=[solved]))

Each episode (`ProgramEnv.reset`) starts a private `agentrl.gateway.Gateway` on 127.0.0.1 with one session,
backed by the policy `run_episode` binds (`bind_policy`), and runs the program to its end:

- a subprocess (`program` is an argv list) with ``OPENAI_BASE_URL`` (the session's base URL),
  ``OPENAI_API_KEY`` (the session key), ``AGENTRL_MODEL`` (the served model name), ``AGENTRL_TASK`` (the
  task as JSON: id, prompt, env_kwargs; never the reference) and ``AGENTRL_SEED``; ``{python}`` in the argv
  is this interpreter. Or
- an async Python function (`program` is one, or a "module:function" string) called with a `ProgramContext`.
  It runs on the rollout's event loop, so it must use an async client (``openai.AsyncOpenAI``).

`reset` returns no observation: `run_episode` never calls the policy itself, the program's requests are the
turns. The rubric must be a `ProgramRubric`, which adopts the session's turns and status into the episode
before its verifiers score it (verifiers get the env, hence `env.result`: exit code, stdout, stderr, the
function's return value). How the program ended becomes the status, never an exception:

- the context overflowed: ``truncated`` (scored); over `timeout` seconds: ``timeout`` (the process is killed);
- it failed (non-zero exit, an exception) or never called the model: ``env_error``;
- the policy failed on a request: ``policy_error``; otherwise ``ok``.

The hook: `run_episode` calls ``env.bind_policy(policy)`` before reset, with the policy (or ``{agent: policy}``)
that plays the episode, so `agentrl train`, `train-ray` and `eval` all bind it the same way. Every turn
carries the `policy_version` of the weights that sampled it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from agentrl.errors import ConfigError, EpisodeOverError
from agentrl.registry import register, resolve
from agentrl.rubric import Rubric
from agentrl.types import Episode, Status, Task

AGENT = "agent"
_TAIL = 2000  # characters of stderr kept in the error text


@dataclasses.dataclass(frozen=True)
class ProgramContext:
    """What an async program function gets: where its model is, and the task it plays."""

    base_url: str
    api_key: str
    model: str
    task: Task
    seed: int


@dataclasses.dataclass(frozen=True)
class ProgramResult:
    """How the program ended; verifiers read it as ``env.result``."""

    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    value: Any = None
    seconds: float = 0.0
    timed_out: bool = False
    error: str | None = None


class ProgramEnv:
    possible_agents = (AGENT,)

    def __init__(self, program: Sequence[str] | str | Callable[..., Any], *, timeout: float = 300.0,
                 env: Mapping[str, str] | None = None, cwd: str | None = None, model: str = "agentrl"):
        if isinstance(program, str) and ":" not in program:
            raise ConfigError(f"program={program!r}: give an argv list (['python', 'agent.py']), an async function, "
                              "or a 'module:function' string naming one.")
        self.program, self.timeout, self.extra_env, self.cwd, self.model = program, timeout, dict(env or {}), cwd, model
        self.policy: Any = None
        self.gateway: Any = None
        self.session: Any = None
        self.result: ProgramResult | None = None
        self._process: asyncio.subprocess.Process | None = None

    def bind_policy(self, policy: Any) -> None:
        """The policy that plays the next episode (one policy, or a dict naming one for agent ``agent``)."""
        self.policy = policy[AGENT] if isinstance(policy, Mapping) else policy

    async def reset(self, task: Task, seed: int) -> dict[str, Any]:
        from agentrl.gateway import Gateway

        if self.policy is None:
            raise ConfigError("ProgramEnv has no policy: run it with agentrl.run_episode (which binds the policy "
                              "it is given), or call env.bind_policy(policy) before reset.")
        await self._stop_gateway()
        self.gateway = self._make_gateway(Gateway)
        await self.gateway.start()
        self.session = self.gateway.open_session()
        started = time.monotonic()
        try:
            self.result = await self._run(task, seed)
        finally:
            self.gateway.close_session(self.session)
        self.result = dataclasses.replace(self.result, seconds=time.monotonic() - started)
        return {}  # no observation: the program's requests are the episode's turns

    async def step(self, actions: Mapping[str, str]) -> Any:
        raise EpisodeOverError("ProgramEnv episodes have no steps: the program plays the whole episode in reset().")

    async def close(self) -> None:
        await self._kill()
        await self._stop_gateway()

    def _make_gateway(self, gateway_class: type) -> Any:
        return gateway_class(self.policy, model=self.model, agent=AGENT)

    # -- the program ----------------------------------------------------------------------------------------
    async def _run(self, task: Task, seed: int) -> ProgramResult:
        program = resolve(self.program) if isinstance(self.program, str) else self.program
        if callable(program):
            return await self._run_function(program, task, seed)
        return await self._run_process(list(program), task, seed)

    async def _run_function(self, fn: Callable[..., Any], task: Task, seed: int) -> ProgramResult:
        ctx = ProgramContext(self.gateway.base_url(self.session), self.session.key, self.model, task, seed)
        try:
            async with asyncio.timeout(self.timeout):
                value = fn(ctx)
                if inspect.isawaitable(value):
                    value = await value
        except TimeoutError:
            return ProgramResult(timed_out=True)
        except Exception as e:  # the program's failure is the episode's status  # noqa: BLE001
            return ProgramResult(error=f"{type(e).__name__}: {e}")
        return ProgramResult(exit_code=0, value=value)

    async def _run_process(self, argv: list[str], task: Task, seed: int) -> ProgramResult:
        argv = [sys.executable if a == "{python}" else a for a in argv]
        env = {**os.environ, **self.extra_env, "OPENAI_BASE_URL": self.gateway.base_url(self.session),
               "OPENAI_API_KEY": self.session.key, "AGENTRL_MODEL": self.model, "AGENTRL_SEED": str(seed),
               "AGENTRL_TASK": json.dumps({"id": task.id, "prompt": list(task.prompt),
                                           "env_kwargs": dict(task.env_kwargs)})}
        try:
            self._process = await asyncio.create_subprocess_exec(
                *argv, env=env, cwd=self.cwd, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, start_new_session=True)
        except OSError as e:
            return ProgramResult(error=f"cannot start {argv!r}: {e}")
        try:
            async with asyncio.timeout(self.timeout):
                out, err = await self._process.communicate()
        except TimeoutError:
            await self._kill()
            return ProgramResult(timed_out=True)
        # (cancelled by the episode's time limit: the process stays in `_process` for close() to kill)
        code, self._process = self._process.returncode, None
        return ProgramResult(exit_code=code, stdout=out.decode(errors="replace"), stderr=err.decode(errors="replace"))

    async def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # its whole process group: a harness may have children
        await process.wait()

    async def _stop_gateway(self) -> None:
        if self.gateway is not None:
            await self.gateway.stop()
            self.gateway = None

    # -- the episode ----------------------------------------------------------------------------------------
    def recorded(self, episode: Episode) -> Episode:
        """`episode` (played by run_episode, so it has no turns) with the session's turns and the program's
        status. `ProgramRubric` calls it before scoring."""
        if self.session is None or self.result is None:
            return episode
        turns, status, error = tuple(self.session.turns), *self._status()
        version = min((t.policy_version for t in turns), default=episode.policy_version)
        info = {**episode.info, "program": {"exit_code": self.result.exit_code, "seconds": self.result.seconds,
                                            "segments": self.session.segments}}
        return episode.replace(turns=turns, status=status, error=error, policy_version=version, info=info)

    def _status(self) -> tuple[Status, str | None]:
        r, s = self.result, self.session
        if s.status is not Status.OK:  # truncated by the context, or the policy failed
            return s.status, s.error
        if r.timed_out:
            return Status.TIMEOUT, f"the program ran over its time limit of {self.timeout} s and was killed"
        if r.error is not None:
            return Status.ENV_ERROR, f"the program failed: {r.error}"
        if r.exit_code != 0:
            return Status.ENV_ERROR, f"the program exited with code {r.exit_code}; stderr: {r.stderr[-_TAIL:]}"
        if not s.turns:
            return Status.ENV_ERROR, "the program exited without calling the model: there is nothing to learn from"
        return Status.OK, None


class ProgramRubric(Rubric):
    """A `Rubric` for `ProgramEnv`: adopts the program's turns and status, then scores like any rubric (a failed
    episode is not scored). Re-scoring saved episodes (no env) scores them as they are."""

    async def score(self, episode: Episode, env: Any = None) -> Episode:
        recorded = getattr(env, "recorded", None)
        if recorded is not None and not episode.turns:
            episode = recorded(episode)
        if episode.status.is_failure:
            return episode
        return await super().score(episode, env)


def register_program(env_id: str, program: Sequence[str] | str | Callable[..., Any], *, tasks: Any,
                     rubric: Any = None, timeout: float = 300.0, description: str = "", override: bool = False,
                     scripted_policy: Any = None, **kwargs: Any) -> Any:
    """Register an external program as an env; `rubric` is a function returning a `ProgramRubric`;
    `scripted_policy` a ``(seed) -> Policy`` factory that answers the program's requests (for `agentrl eval
    --policy scripted`); `kwargs` go to `ProgramEnv` (env, cwd, model)."""
    return register(env_id, ProgramEnv, tasks=tasks, rubric=rubric or ProgramRubric, scripted_policy=scripted_policy,
                    kwargs={"program": program, "timeout": timeout, **kwargs}, max_turns=1, override=override,
                    description=description or f"external program {program!r} through the gateway")
