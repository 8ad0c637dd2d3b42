"""Sandboxes for untrusted, model-written commands: one protocol, a Docker and a bubblewrap backend, a warm pool.

    from agentrl.sandbox import SandboxPool
    async with SandboxPool.docker(size=4) as pool, pool.acquire() as box:
        print((await box.exec("python3 -V")).stdout)

See base.py for the guarantees every backend gives, pool.py for the pool, image.py for the offline base image.
Backends import lazily: the Docker SDK is needed only by the Docker backend.
"""

from agentrl.sandbox.base import (
    DEFAULT_WORKDIR,
    EpisodeTimeoutError,
    ExecResult,
    Sandbox,
    SandboxBrokenError,
    SandboxClosedError,
    SandboxError,
    SandboxLimits,
)
from agentrl.sandbox.pool import SandboxPool, reap_orphans


def __getattr__(name: str):
    if name in ("DockerSandbox", "BASE_IMAGE"):
        from agentrl.sandbox import docker_backend
        return getattr(docker_backend, name)
    if name == "BwrapSandbox":
        from agentrl.sandbox.bwrap_backend import BwrapSandbox
        return BwrapSandbox
    if name in ("build_base_image", "BuildResult"):
        from agentrl.sandbox import image
        return getattr(image, name)
    raise AttributeError(f"module 'agentrl.sandbox' has no attribute {name!r}")


__all__ = [
    "BASE_IMAGE",
    "DEFAULT_WORKDIR",
    "BuildResult",
    "BwrapSandbox",
    "DockerSandbox",
    "EpisodeTimeoutError",
    "ExecResult",
    "Sandbox",
    "SandboxBrokenError",
    "SandboxClosedError",
    "SandboxError",
    "SandboxLimits",
    "SandboxPool",
    "build_base_image",
    "reap_orphans",
]
