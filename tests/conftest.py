"""Shared test configuration.

Tiers: tests/unit (pure, seconds), tests/contract (every registered env), tests/integration (real vLLM,
Docker, Ray, browser; marked), tests/e2e (short real training runs). Integration tests start the
component they need and never skip: `launch/test.sh` installs and starts everything first.
"""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
