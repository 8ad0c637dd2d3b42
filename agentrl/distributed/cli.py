"""`agentrl train-ray`: the Ray trainer's command (wired into `agentrl` through ``add_cli``)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_cli(sub: Any) -> None:
    p = sub.add_parser("train-ray", help="train on Ray: env actors, rollout workers, one learner",
                       description="Train on a local Ray instance (default) or a cluster (--address). Takes the "
                                   "same config files as `agentrl train` plus a `distributed` section; "
                                   "KEY=VALUE arguments override them (e.g. distributed.mode=sync).")
    p.add_argument("--config", help="YAML/TOML config file (e.g. launch/configs/ray_cpu.yaml)")
    p.add_argument("--address", help="join a running Ray cluster: 'auto' or host:port (default: start a local one)")
    p.add_argument("--mode", choices=("sync", "async"), help="shortcut for distributed.mode")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="dotted overrides")
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    p.set_defaults(func=_cmd_train_ray)


def _cmd_train_ray(args: argparse.Namespace) -> int:
    from agentrl.config import load_config, to_dict
    from agentrl.distributed.config import RayTrainConfig

    overrides = list(args.overrides)
    if args.address:
        overrides.append(f"distributed.address={args.address}")
    if args.mode:
        overrides.append(f"distributed.mode={args.mode}")
    cfg = load_config(RayTrainConfig, args.config, overrides)
    if args.print_config:
        print(json.dumps(to_dict(cfg), indent=2))
        return 0
    from agentrl.distributed.driver import train_ray
    from agentrl.training.runlog import final_line

    metrics = train_ray(cfg)
    if metrics:
        print(final_line(metrics))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command without the `agentrl` CLI (``python -m agentrl.distributed.cli ...``)."""
    parser = argparse.ArgumentParser(prog="agentrl")
    add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train-ray", *(argv or [])] if argv is not None else None)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
