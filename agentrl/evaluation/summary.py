"""From finished episodes to the numbers of a report, per task and overall.

Rules (the report states them too):

- **Failures are not zeros.** Episodes whose status is a failure (env_error, policy_error, verifier_error,
  timeout) are counted by status and left out of every score; ``ok`` and ``truncated`` episodes are scored.
- **Reward** of an episode: the rubric's combined reward, averaged over the evaluated agents (`agent`, or every
  agent of the episode). **Terms**: each outcome term, and each turn term summed over the agent's turns
  (``env`` is the env's own return), averaged over agents.
- **Success** of an episode: every evaluated agent's success value is >= `threshold`. The value is the outcome
  term named `term`; by default the term ``success`` if the rubric has one, else the rubric's first outcome
  term, else the combined reward.
- **pass@k** (unbiased, Chen et al. 2021) and **pass^k** (all k succeed, tau-bench) per task from its n scored
  samples, for k in 1, 2, 4, ... up to the number of samples (and that number itself); overall values average
  the tasks with at least k scored samples (``tasks`` says how many).
- **Intervals** (95%): success rate with the Wilson score interval over scored episodes; mean reward and
  pass@k/pass^k with a percentile bootstrap that resamples tasks (2000 resamples, fixed seed), since samples
  of one task are correlated.
- Turns, tokens and wall time are averaged over all episodes, failed ones included (they cost time too).

The summary is a plain JSON-able dict and is a pure function of the set of episodes (order does not matter),
so a resumed run and an uninterrupted one give the same summary up to wall-clock times; `comparable` drops
those.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agentrl.evaluation import stats
from agentrl.rubric import ENV_TERM
from agentrl.types import Episode, Status

TIMING_KEYS = frozenset({"wall_s"})


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _agents(episode: Episode, agent: str | None) -> list[str]:
    if agent is not None:
        return [agent]
    return sorted(episode.reward) or sorted(episode.outcome_rewards) or episode.agents


def success_term_of(episode: Episode, agent: str, term: str | None) -> str | None:
    """The outcome term that decides success for this agent (None: use the combined reward)."""
    outcome = episode.outcome_rewards.get(agent, {})
    if term is not None:
        return term
    if "success" in outcome:
        return "success"
    return next(iter(outcome), None)


def episode_scores(episode: Episode, *, agent: str | None = None, term: str | None = None,
                   threshold: float = 1.0) -> dict[str, Any]:
    """Reward, per-term values and success of one scored episode (see the module rules)."""
    agents = _agents(episode, agent)
    rewards, successes = [], []
    terms: dict[str, list[float]] = defaultdict(list)
    for a in agents:
        if a in episode.reward:
            rewards.append(float(episode.reward[a]))
        turn_totals: dict[str, float] = defaultdict(float)
        for t in episode.turns_of(a):
            for name, v in t.rewards.items():
                if v is not None:
                    turn_totals[name] += v
        for name, v in turn_totals.items():
            terms[name].append(v)
        for name, v in episode.outcome_rewards.get(a, {}).items():
            if v is not None:
                terms[name].append(float(v))
        deciding = success_term_of(episode, a, term)
        value = episode.outcome_rewards.get(a, {}).get(deciding) if deciding else episode.reward.get(a)
        successes.append(value is not None and value >= threshold)
    return {"reward": _mean(rewards), "terms": {k: sum(v) / len(v) for k, v in sorted(terms.items())},
            "success": bool(successes) and all(successes)}


def _tokens(episode: Episode, kind: str) -> float:
    """Token count from the engine's ids, else from the server's usage report."""
    total = 0
    for t in episode.turns:
        ids = t.completion_ids if kind == "completion" else t.prompt_ids
        if ids:
            total += len(ids)
        else:
            total += int(((t.info or {}).get("usage") or {}).get(f"{kind}_tokens") or 0)
    return float(total)


def _ks(samples: int) -> list[int]:
    ks, k = [], 1
    while k < samples:
        ks.append(k)
        k *= 2
    return [*ks, samples]


def _task_block(episodes: list[Episode], scores: list[dict], ks: list[int]) -> dict[str, Any]:
    n, c = len(scores), sum(s["success"] for s in scores)
    lo, hi = stats.wilson_interval(c, n)
    rewards = [s["reward"] for s in scores if s["reward"] is not None]
    block: dict[str, Any] = {
        "episodes": len(episodes),
        "scored": n,
        "failures": dict(sorted(Counter(e.status.value for e in episodes if e.status.is_failure).items())),
        "truncated": sum(e.status == Status.TRUNCATED for e in episodes),
        "successes": c,
        "success_rate": c / n if n else None,
        "success_ci": [lo, hi] if n else None,
        "reward_mean": _mean(rewards),
        "terms": _term_means(scores),
        "pass_at_k": {str(k): stats.pass_at_k(n, c, k) for k in ks if n >= k},
        "pass_hat_k": {str(k): stats.pass_hat_k(n, c, k) for k in ks if n >= k},
    }
    block.update(_costs(episodes))
    return block


def _term_means(scores: list[dict]) -> dict[str, float]:
    by_term: dict[str, list[float]] = defaultdict(list)
    for s in scores:
        for name, v in s["terms"].items():
            by_term[name].append(v)
    return {name: sum(v) / len(v) for name, v in sorted(by_term.items())}


def _costs(episodes: list[Episode]) -> dict[str, float | None]:
    return {
        "turns_mean": _mean([float(len(e.turns)) for e in episodes]),
        "completion_tokens_mean": _mean([_tokens(e, "completion") for e in episodes]),
        "prompt_tokens_mean": _mean([_tokens(e, "prompt") for e in episodes]),
        "wall_s": {"mean": _mean([float(e.metrics.get("wall_s", 0.0)) for e in episodes]),
                   "total": sum(float(e.metrics.get("wall_s", 0.0)) for e in episodes)},
    }


def summarize(episodes: Iterable[Episode], *, samples: int | None = None, agent: str | None = None,
              success_term: str | None = None, threshold: float = 1.0, expected: int | None = None,
              run: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The report's numbers: ``{"run", "rules", "overall", "tasks": {task_id: ...}}``.

    `samples` fixes the k values (default: the most samples any task has); `expected` is how many episodes
    the run plans, so an unfinished run says so (``overall.complete``).
    """
    by_task: dict[str, list[Episode]] = defaultdict(list)
    for e in sorted(episodes, key=lambda e: (e.task.id, (e.info.get("eval") or {}).get("sample", 0), e.seed)):
        by_task[e.task.id].append(e)
    samples = samples or max((len(v) for v in by_task.values()), default=1)
    ks = _ks(samples)
    tasks: dict[str, Any] = {}
    task_scores: dict[str, list[dict]] = {}
    for task_id, eps in by_task.items():
        scored = [e for e in eps if not e.status.is_failure]
        task_scores[task_id] = [episode_scores(e, agent=agent, term=success_term, threshold=threshold)
                                for e in scored]
        tasks[task_id] = _task_block(eps, task_scores[task_id], ks)
    all_eps = [e for eps in by_task.values() for e in eps]
    overall = _task_block(all_eps, [s for v in task_scores.values() for s in v], ks)
    overall.pop("pass_at_k"), overall.pop("pass_hat_k")
    overall["tasks"] = len(tasks)
    overall["expected_episodes"] = expected
    overall["complete"] = expected is None or len(all_eps) >= expected
    reward_groups = [[s["reward"] for s in v if s["reward"] is not None] for v in task_scores.values()]
    overall["reward_ci"] = _ci(stats.bootstrap_interval(reward_groups))
    overall["pass_at_k"] = _over_tasks(tasks, "pass_at_k", ks)
    overall["pass_hat_k"] = _over_tasks(tasks, "pass_hat_k", ks)
    rules = {"agent": agent, "success_term": success_term or "auto", "success_threshold": threshold,
             "ks": ks, "ci": "95%: Wilson for success rate; task-resampling bootstrap (2000) for reward and pass@k"}
    return {"run": dict(run or {}), "rules": rules, "overall": overall, "tasks": tasks}


def _ci(interval: tuple[float, float]) -> list[float] | None:
    return None if any(math.isnan(x) for x in interval) else list(interval)


def _over_tasks(tasks: Mapping[str, Any], key: str, ks: list[int]) -> dict[str, Any]:
    out = {}
    for k in ks:
        values = [t[key][str(k)] for t in tasks.values() if str(k) in t[key]]
        if values:
            out[str(k)] = {"value": sum(values) / len(values), "ci": _ci(stats.bootstrap_interval([[v] for v in values])),
                           "tasks": len(values)}
    return out


def comparable(summary: Any) -> Any:
    """The summary without wall-clock timings: what must match between a resumed and an uninterrupted run."""
    if isinstance(summary, Mapping):
        return {k: comparable(v) for k, v in summary.items() if k not in TIMING_KEYS}
    if isinstance(summary, list):
        return [comparable(v) for v in summary]
    return summary


def term_names(summary: Mapping[str, Any]) -> list[str]:
    return list(summary["overall"]["terms"])


__all__ = ["ENV_TERM", "comparable", "episode_scores", "summarize", "term_names"]
