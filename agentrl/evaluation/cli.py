"""Command line of the evaluation harness: ``agentrl eval``, ``agentrl eval compare`` and ``agentrl rescore``.

`add_cli(subparsers)` adds the commands to the ``agentrl`` parser; ``python -m agentrl.evaluation.cli`` runs
them on their own (same arguments, same exit codes).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agentrl.errors import ConfigError

_SAMPLING = ("temperature", "max_tokens", "top_p")


def add_cli(sub: Any) -> None:
    p = sub.add_parser(
        "eval", help="evaluate a policy on a registered env (resumable); `eval compare A B` compares two runs",
        description="Run K samples of every selected task, write each episode to OUT/episodes.jsonl as it finishes, "
                    "then OUT/summary.json, OUT/report.md and OUT/report.html. Rerunning the same command resumes: "
                    "finished episodes are skipped. `agentrl eval compare DIR_A DIR_B` compares two runs.")
    p.add_argument("--env", dest="env_id", help="registered env id, e.g. games/GuessNumber-v0 (see `agentrl envs`)")
    p.add_argument("--tasks", default="test", help="SPLIT, SPLIT/GLOB or SPLIT/A:B (default: test)")
    p.add_argument("--policy", default="scripted",
                   help="'scripted' (the env's scripted policy), an OpenAI-compatible URL ending in /v1, or a model "
                        "for in-process vLLM ('tiny', 'smollm2-135m', a checkpoint folder, a hub id)")
    p.add_argument("--model", help="model name to request from an OpenAI-compatible server (default: its first)")
    p.add_argument("--samples", type=int, default=1, help="samples per task, K (default 1)")
    p.add_argument("--concurrency", type=int, default=8, help="episodes in flight at once (default 8)")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="where episodes run: 'local' (asyncio in this process, the default) or 'ray' (env actors; "
                        "a local cluster on 127.0.0.1 unless --ray-address). Results do not depend on it.")
    p.add_argument("--ray-actors", type=int, default=2, help="env actors for --executor ray (default 2)")
    p.add_argument("--ray-address", help="a running Ray cluster to join for --executor ray (default: start one)")
    p.add_argument("--out", help="run folder (created; an existing one is resumed)")
    p.add_argument("--seed", type=int, default=0, help="base seed; each (task, sample) derives its own (default 0)")
    p.add_argument("--max-turns", type=int, help="env steps per episode (default: the env's registered limit)")
    p.add_argument("--turn-timeout", type=float, help="seconds per model call (default: none)")
    p.add_argument("--episode-timeout", type=float, help="seconds per episode (default: none)")
    p.add_argument("--temperature", type=float, help="sampling temperature (model policies)")
    p.add_argument("--max-tokens", type=int, help="max new tokens per turn (model policies)")
    p.add_argument("--top-p", type=float, help="nucleus sampling p (model policies)")
    p.add_argument("--success-term", help="outcome term that decides success (default: 'success', else the first)")
    p.add_argument("--success-threshold", type=float, default=1.0, help="success when term >= this (default 1.0)")
    p.add_argument("--agent", help="evaluate only this agent of a multi-agent env (default: all agents)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_eval)
    modes = p.add_subparsers(dest="eval_mode", metavar="MODE")
    c = modes.add_parser("compare", help="per-task differences between two runs with significance tests",
                         description="Pair two runs' per-task success rate and mean reward; paired bootstrap and "
                                     "sign test (two-sided). Differences are B - A.")
    c.add_argument("dir_a")
    c.add_argument("dir_b")
    c.add_argument("--out", dest="compare_out", help="also write compare.json and compare.md into this folder")
    c.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    c.set_defaults(func=_cmd_compare)

    r = sub.add_parser("rescore", help="recompute rewards of a finished run without generating again",
                       description="Score the saved episodes of an eval run with a rubric (default: the env's own) "
                                   "and write a new run folder with fresh reports. The original is not modified.")
    r.add_argument("run_dir")
    r.add_argument("--rubric", help="package.module:function returning a Rubric (default: the env's registered rubric)")
    r.add_argument("--out", help="where to write the re-scored run (default: RUN_DIR/rescored)")
    r.add_argument("--live", action="store_true",
                   help="re-verify live: replay each episode's saved replies through a fresh env (its own sandbox, "
                        "e.g. SWE re-grades the submitted changes in a fresh Docker container) instead of trusting "
                        "the saved turn infos; generates nothing")
    r.add_argument("--concurrency", type=int, default=2, help="episodes re-verified at once with --live (default 2)")
    r.set_defaults(func=_cmd_rescore)


def spec_from_args(args: argparse.Namespace):
    from agentrl.evaluation.plan import EvalSpec

    if not args.env_id:
        raise ConfigError("agentrl eval needs --env ID (see `agentrl envs`), or `agentrl eval compare DIR_A DIR_B`.")
    if not args.out:
        raise ConfigError("agentrl eval needs --out DIR (the run folder; rerun with the same DIR to resume).")
    sampling = {k: getattr(args, k) for k in _SAMPLING if getattr(args, k) is not None}
    return EvalSpec(env_id=args.env_id, policy=args.policy, tasks=args.tasks, samples=args.samples, seed=args.seed,
                    max_turns=args.max_turns, turn_timeout=args.turn_timeout, episode_timeout=args.episode_timeout,
                    model=args.model, sampling=sampling, success_term=args.success_term,
                    success_threshold=args.success_threshold, agent=args.agent)


def executor_from_args(args: argparse.Namespace):
    from agentrl.evaluation.runner import AsyncioExecutor

    if args.executor == "ray":
        from agentrl.evaluation.ray_executor import RayExecutor

        return RayExecutor(actors=args.ray_actors, concurrency=args.concurrency, address=args.ray_address)
    if args.ray_address:
        raise ConfigError("--ray-address needs --executor ray.")
    return AsyncioExecutor(args.concurrency)


def _cmd_eval(args: argparse.Namespace) -> int:
    from agentrl.evaluation.runner import evaluate

    if args.concurrency < 1:
        raise ConfigError(f"--concurrency must be >= 1, got {args.concurrency}.")
    spec = spec_from_args(args)
    summary = evaluate(spec, args.out, executor=executor_from_args(args), progress=not args.no_progress)
    print(_headline(summary))
    print(f"reports: {Path(args.out) / 'report.html'}  {Path(args.out) / 'report.md'}  {Path(args.out) / 'summary.json'}")
    return 0


def _headline(summary: dict) -> str:
    from agentrl.evaluation.report import fmt

    o = summary["overall"]
    failed = sum(o["failures"].values())
    pk = "  ".join(f"pass@{k}={fmt(v['value'])}" for k, v in o["pass_at_k"].items())
    return (f"{o['episodes']}/{o['expected_episodes']} episodes, {failed} failed; success={fmt(o['success_rate'])} "
            f"reward={fmt(o['reward_mean'])} {pk}")


def _cmd_compare(args: argparse.Namespace) -> int:
    from agentrl.evaluation.compare import compare, render_markdown

    result = compare(args.dir_a, args.dir_b)
    markdown = render_markdown(result)
    if args.compare_out:
        out = Path(args.compare_out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "compare.json").write_text(json.dumps(result, indent=2, sort_keys=True))
        (out / "compare.md").write_text(markdown)
    print(json.dumps(result, indent=2, sort_keys=True) if args.json else markdown)
    return 0


def _cmd_rescore(args: argparse.Namespace) -> int:
    from agentrl.evaluation.rescore import rescore

    summary = rescore(args.run_dir, args.rubric, args.out, live=args.live, concurrency=args.concurrency)
    out = Path(args.out) if args.out else Path(args.run_dir) / "rescored"
    print(_headline(summary))
    print(f"re-scored run: {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m agentrl.evaluation.cli ...` is the `agentrl` command (all its subcommands)."""
    from agentrl.cli import main as agentrl_main

    return agentrl_main(argv)


if __name__ == "__main__":
    sys.exit(main())
