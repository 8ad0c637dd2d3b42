"""Comparing two runs task by task: `compare(dir_a, dir_b)`.

The unit of pairing is the task: both runs' per-task success rate and mean reward (from their
``summary.json``) are paired on the tasks both runs scored. Two tests per metric, both two-sided:

- **paired bootstrap** over tasks (2000 resamples, fixed seed) of the mean difference B - A, with a 95%
  percentile interval; p is twice the share of resampled means on the other side of zero.
- **sign test** (exact binomial) on how many tasks improved vs got worse; ties are dropped. It assumes
  nothing about the size of differences, so it is the conservative check when a few tasks dominate.

Tasks only one run has are listed, not tested. Differences are B - A: positive means B is better.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentrl.errors import ConfigError
from agentrl.evaluation import stats
from agentrl.evaluation.report import SUMMARY_JSON, fmt

METRICS = ("success_rate", "reward_mean")


def load_summary(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / SUMMARY_JSON
    if not path.exists():
        raise ConfigError(f"{run_dir} has no {SUMMARY_JSON}. Pass folders written by `agentrl eval` (rerun the eval "
                          "command on that folder to finish it and write the summary).")
    return json.loads(path.read_text())


def _test(pairs: dict[str, tuple[float, float]]) -> dict[str, Any]:
    diffs = [b - a for a, b in pairs.values()]
    p_boot, lo, hi = stats.paired_bootstrap(diffs)
    wins = sum(d > 0 for d in diffs)
    losses = sum(d < 0 for d in diffs)
    return {"tasks": len(diffs), "mean_a": sum(a for a, _ in pairs.values()) / len(diffs),
            "mean_b": sum(b for _, b in pairs.values()) / len(diffs), "mean_diff": sum(diffs) / len(diffs),
            "paired_bootstrap": {"p_value": p_boot, "ci": [lo, hi]},
            "sign_test": {"b_better": wins, "a_better": losses, "ties": len(diffs) - wins - losses,
                          "p_value": stats.sign_test(wins, losses)}}


def compare(dir_a: str | Path, dir_b: str | Path) -> dict[str, Any]:
    a, b = load_summary(dir_a), load_summary(dir_b)
    tasks_a, tasks_b = a["tasks"], b["tasks"]
    common = [t for t in tasks_a if t in tasks_b]
    if not common:
        raise ConfigError(f"{dir_a} and {dir_b} share no task ids, so there is nothing to pair. Compare runs on the "
                          "same env and task selection.")
    out: dict[str, Any] = {"a": {"dir": str(dir_a), **a["run"]}, "b": {"dir": str(dir_b), **b["run"]},
                           "only_in_a": [t for t in tasks_a if t not in tasks_b],
                           "only_in_b": [t for t in tasks_b if t not in tasks_a], "metrics": {}, "tasks": {}}
    for metric in METRICS:
        pairs = {t: (tasks_a[t][metric], tasks_b[t][metric]) for t in common
                 if tasks_a[t][metric] is not None and tasks_b[t][metric] is not None}
        if pairs:
            out["metrics"][metric] = _test(pairs)
    for t in common:
        out["tasks"][t] = {m: {"a": tasks_a[t][m], "b": tasks_b[t][m],
                               "diff": None if tasks_a[t][m] is None or tasks_b[t][m] is None
                               else tasks_b[t][m] - tasks_a[t][m]} for m in METRICS}
    return out


def render_markdown(result: dict[str, Any]) -> str:
    a, b = result["a"], result["b"]
    lines = [f"# Compare: A = {a['dir']} ({a.get('policy')}) vs B = {b['dir']} ({b.get('policy')})", "",
             "| metric | tasks | A | B | B - A | 95% CI | bootstrap p | sign test (B>A / A>B / ties) | sign p |",
             "|---|---|---|---|---|---|---|---|---|"]
    for metric, r in result["metrics"].items():
        ci = r["paired_bootstrap"]["ci"]
        s = r["sign_test"]
        lines.append(f"| {metric} | {r['tasks']} | {fmt(r['mean_a'])} | {fmt(r['mean_b'])} | {fmt(r['mean_diff'])} | "
                     f"[{fmt(ci[0])}, {fmt(ci[1])}] | {fmt(r['paired_bootstrap']['p_value'])} | "
                     f"{s['b_better']} / {s['a_better']} / {s['ties']} | {fmt(s['p_value'])} |")
    lines += ["", "| task | success A | success B | diff | reward A | reward B | diff |", "|---|---|---|---|---|---|---|"]
    for t, m in result["tasks"].items():
        sr, rw = m["success_rate"], m["reward_mean"]
        lines.append(f"| {t} | {fmt(sr['a'])} | {fmt(sr['b'])} | {fmt(sr['diff'])} | {fmt(rw['a'])} | {fmt(rw['b'])} | "
                     f"{fmt(rw['diff'])} |")
    for side in ("only_in_a", "only_in_b"):
        if result[side]:
            lines.append(f"\n{side.replace('_', ' ')}: {', '.join(result[side])}")
    return "\n".join(lines) + "\n"
