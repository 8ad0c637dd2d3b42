"""The `agentrl` command line. Every command has --help.

    agentrl envs                 list registered environments
    agentrl check ENV_ID ...     run the contract checks on registered envs (or --all)
    agentrl train --config F     train (see launch/configs/)
    agentrl eval --env ID ...    evaluate a policy on an env's tasks; `agentrl eval compare A B`
    agentrl rescore DIR          recompute rewards of saved episodes
    agentrl sandbox ...          sandbox images and housekeeping
    agentrl gateway --model M    serve a model behind an OpenAI-compatible API that records episodes
    agentrl swe ...              SWE tasks and images (added by the swe family through the agentrl.cli entry points)
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.metadata
import sys

from agentrl.errors import AgentRLError

# Core commands contributed by core subpackages: each module has add_cli(subparsers). Listed by name so
# an optional subpackage whose extras are missing only loses its own commands.
_COMMAND_MODULES = ("agentrl.train", "agentrl.distributed.cli", "agentrl.evaluation.cli", "agentrl.sandbox.cli",
                    "agentrl.gateway.cli")

# Env families (built-in or third-party) add commands through this entry-point group; each entry names an
# ``add_cli(subparsers)`` function, so the core never imports a family (see pyproject.toml).
ENTRY_POINT_GROUP = "agentrl.cli"


def _cmd_envs(args: argparse.Namespace) -> int:
    from agentrl import registry

    specs = registry.registered()
    width = max((len(i) for i in specs), default=10)
    for env_id, spec in specs.items():
        print(f"{env_id:<{width}}  max_turns={spec.max_turns:<3} {spec.description}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from agentrl import registry
    from agentrl.checker import check_env

    ids = list(registry.registered()) if args.all else args.env_ids
    if not ids:
        print("agentrl check: name env ids (see `agentrl envs`) or pass --all", file=sys.stderr)
        return 2
    for env_id in ids:
        report = asyncio.run(check_env(env_id, num_tasks=args.tasks))
        print(report)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentrl", description="Train and evaluate LLM agents with RL.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("envs", help="list registered environments", description="List registered environments.")
    p.set_defaults(func=_cmd_envs)
    p = sub.add_parser("check", help="check that environments keep the contract",
                       description="Run agentrl.checker.check_env on each env with its scripted policy.")
    p.add_argument("env_ids", nargs="*", help="env ids such as games/GuessNumber-v0")
    p.add_argument("--all", action="store_true", help="check every registered env")
    p.add_argument("--tasks", type=int, default=2, help="how many tasks per env (default 2)")
    p.set_defaults(func=_cmd_check)
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        module.add_cli(sub)
    _add_plugin_commands(sub)
    return parser


def _add_plugin_commands(sub: argparse._SubParsersAction) -> None:
    """Add the commands of every ``agentrl.cli`` entry point; a broken one is reported, not fatal."""
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()(sub)
        except Exception as e:  # a third-party family's bug must not take the core commands down  # noqa: BLE001
            print(f"agentrl: skipped the commands of plugin {ep.name!r} ({ep.value}): {type(e).__name__}: {e}. "
                  "Fix or uninstall the package that provides it.", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except AgentRLError as e:
        print(f"agentrl {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"agentrl {args.command}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
