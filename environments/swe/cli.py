"""`agentrl swe ...`: build-tasks (bugs from PyPI sdists), build-images (task images), grade (predictions).

`add_cli(subparsers)` adds them to the main `agentrl` parser; each sets `func(args) -> exit code`.
`python -m agentrl.environments.swe.cli build-images` runs them without the main CLI (launch/setup_swe.sh does).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

DEFAULT_PACKAGES = ("inflection==0.5.1", "cachetools==5.5.2", "toolz==1.0.0")


def add_cli(subparsers) -> argparse.ArgumentParser:
    from agentrl.environments.swe.tasks import SHIPPED

    swe = subparsers.add_parser("swe", help="SWE tasks: build them from PyPI packages, build their images, grade")
    sub = swe.add_subparsers(dest="swe_command", required=True)
    tasks = sub.add_parser("build-tasks", help="make SWE-bench style tasks by mutating PyPI packages' sources")
    tasks.add_argument("--package", action="append", dest="packages", metavar="NAME==VERSION",
                       help=f"a pure-Python package whose sdist ships its tests (repeatable; default: "
                            f"{', '.join(DEFAULT_PACKAGES)})")
    tasks.add_argument("--per-package", type=int, default=11, help="tasks to keep per package (default 11)")
    tasks.add_argument("--max-tries", type=int, default=40, help="mutants to test per package (default 40)")
    tasks.add_argument("--seed", type=int, default=0)
    tasks.add_argument("--concurrency", type=int, default=2, help="sandboxes running tests at once")
    tasks.add_argument("--scope", choices=("files", "suite"), default="files",
                       help="tests each task runs: the files of its failing tests (default, as SWE-bench) or the suite")
    tasks.add_argument("--out", required=True, help="output file (.jsonl or .jsonl.gz)")
    tasks.add_argument("--no-images", action="store_true", help="skip building the task images")
    tasks.set_defaults(func=_build_tasks)
    imgs = sub.add_parser("build-images", help="build the Docker image of every task in a task file (idempotent)")
    imgs.add_argument("--tasks", default=str(SHIPPED), help="task file (default: the shipped set)")
    imgs.add_argument("--force", action="store_true", help="rebuild images that exist")
    imgs.set_defaults(func=_build_images)
    grade = sub.add_parser("grade", help="grade a SWE-bench predictions file; writes a results JSONL")
    grade.add_argument("--predictions", required=True, help="JSONL of {instance_id, model_name_or_path, model_patch}")
    grade.add_argument("--tasks", default=str(SHIPPED), help="task file (default: the shipped set)")
    grade.add_argument("--out", required=True, help="results JSONL")
    grade.add_argument("--concurrency", type=int, default=2)
    grade.set_defaults(func=_grade)
    return swe


def _build_tasks(args) -> int:
    from agentrl.environments.swe.build import PackageSpec, build_images, build_package_tasks
    from agentrl.environments.swe.tasks import write_instances

    specs = [PackageSpec.parse(p) for p in (args.packages or DEFAULT_PACKAGES)]
    instances = []
    for spec in specs:
        instances += asyncio.run(build_package_tasks(spec, count=args.per_package, seed=args.seed,
                                                     max_tries=args.max_tries, concurrency=args.concurrency,
                                                     scope=args.scope))
    write_instances(args.out, instances)
    print(f"[swe] wrote {len(instances)} task(s) to {args.out}")
    if not args.no_images:
        build_images(instances)
    return 0


def _build_images(args) -> int:
    from agentrl.environments.swe.build import build_images
    from agentrl.environments.swe.tasks import load_instances

    instances = load_instances(args.tasks)
    built = build_images(instances, force=args.force)
    print(f"[swe] {len(built)} image(s) built, {len(instances) - len(built)} already there")
    return 0


def _grade(args) -> int:
    from agentrl.environments.swe.grader import Grader
    from agentrl.environments.swe.results import read_predictions, write_results
    from agentrl.environments.swe.tasks import load_instances
    from agentrl.errors import TaskError

    instances = {i.instance_id: i for i in load_instances(args.tasks)}
    predictions = read_predictions(args.predictions)
    unknown = [p["instance_id"] for p in predictions if p["instance_id"] not in instances]
    if unknown:
        raise TaskError(f"predictions for instances not in {args.tasks}: {unknown[:5]}")
    grades = asyncio.run(Grader().grade_many([(instances[p["instance_id"]], p["model_patch"]) for p in predictions],
                                             concurrency=args.concurrency))
    model = predictions[0].get("model_name_or_path", "") if predictions else ""
    write_results(args.out, grades, model)
    print(f"[swe] resolved {sum(g.resolved for g in grades)}/{len(grades)}; results in {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m ...` runs the `agentrl swe` subcommands (same parser, same error handling)."""
    from agentrl.cli import main as agentrl_main

    return agentrl_main(["swe", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    sys.exit(main())
