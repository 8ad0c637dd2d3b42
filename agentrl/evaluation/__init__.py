"""The evaluation harness: any policy on any registered env, resumable, re-scorable, with reports.

    from agentrl.evaluation import EvalSpec, evaluate
    summary = evaluate(EvalSpec("games/GuessNumber-v0", policy="scripted", tasks="test/:8", samples=4), "runs/gn")

- `plan`: the run's spec, task selection and deterministic per-(task, sample) seeds.
- `runner`: plays the missing episodes through an executor and appends each one to the run folder as it
  finishes (`store`), so a killed run resumes where it stopped. `AsyncioExecutor` (in process, the default)
  or `ray_executor.RayExecutor` (Ray env actors; ``--executor ray``): the results do not depend on it.
- `summary` + `stats`: success, pass@k, pass^k, reward terms, costs, failures by status, intervals.
- `report`: summary.json, report.md and a self-contained report.html.
- `rescore`: new rewards for saved episodes, from the saved records or, with ``live``, re-verified by
  replaying the replies through a fresh env and its sandbox (`replay`); `compare`: two runs task by task
  with significance tests.
- `cli`: ``agentrl eval``, ``agentrl eval compare``, ``agentrl rescore``.
"""

from agentrl.evaluation.plan import EvalSpec, Job, episode_seed, plan_jobs, select_tasks
from agentrl.evaluation.runner import AsyncioExecutor, EpisodeRunner, Executor, evaluate, evaluate_async
from agentrl.evaluation.summary import comparable, summarize

__all__ = ["AsyncioExecutor", "EpisodeRunner", "EvalSpec", "Executor", "Job", "comparable", "episode_seed",
           "evaluate", "evaluate_async", "plan_jobs", "select_tasks", "summarize"]
