"""`agentrl sandbox ...` subcommands: build-base (offline base image) and reap (remove orphaned sandboxes).

`add_cli(subparsers)` adds them to the main `agentrl` parser; each sets `func(args) -> exit code`.
`python -m agentrl.sandbox.cli build-base` runs them without the main CLI.
"""

from __future__ import annotations

import argparse
import sys


def add_cli(subparsers) -> argparse.ArgumentParser:
    from agentrl.sandbox.docker_backend import BASE_IMAGE

    sandbox = subparsers.add_parser("sandbox", help="sandbox images and housekeeping")
    sub = sandbox.add_subparsers(dest="sandbox_command", required=True)
    build = sub.add_parser("build-base", help="build the offline base image (debootstrap + docker import) if missing")
    build.add_argument("--tag", default=BASE_IMAGE, help=f"image tag (default {BASE_IMAGE})")
    build.add_argument("--mirror", default=None, help="Debian mirror URI (default: the one in this machine's apt sources)")
    build.add_argument("--force", action="store_true", help="rebuild even if the tag exists")
    build.set_defaults(func=_build_base)
    reap = sub.add_parser("reap", help="remove sandbox containers whose owning process is gone")
    reap.add_argument("--all", action="store_true", help="remove every agentrl sandbox container, owners alive or not")
    reap.set_defaults(func=_reap)
    return sandbox


def _build_base(args) -> int:
    from agentrl.sandbox.image import build_base_image

    build_base_image(args.tag, mirror=args.mirror, force=args.force)
    return 0


def _reap(args) -> int:
    from agentrl.sandbox.pool import reap_orphans

    removed = reap_orphans(everything=args.all)
    print(f"removed {len(removed)} container(s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m ...` runs the `agentrl sandbox` subcommands (same parser, same error handling)."""
    from agentrl.cli import main as agentrl_main

    return agentrl_main(["sandbox", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    sys.exit(main())
