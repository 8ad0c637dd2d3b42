"""Offline base image: a minimal Debian with Python and git, built without any image registry.

`build_base_image()` runs `debootstrap --variant=minbase` against the machine's own apt mirror and imports
the root filesystem into Docker with `docker import`. It is idempotent: an existing tag is kept unless
`force=True`. Task images then build `FROM` this tag. Needs root (debootstrap) and a running engine.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from agentrl.sandbox.base import SandboxError
from agentrl.sandbox.docker_backend import BASE_IMAGE

SUITE = "bookworm"
PACKAGES = ("python3", "python3-venv", "git", "patch")
DEFAULT_MIRROR = "http://deb.debian.org/debian"


@dataclasses.dataclass(frozen=True)
class BuildResult:
    tag: str
    image_id: str
    built: bool  # False when the tag already existed
    seconds: float


def apt_mirror(sources_dir: str = "/etc/apt") -> str:
    """The Debian archive URI this machine's apt uses (deb822 .sources or classic sources.list)."""
    paths = sorted(Path(sources_dir).glob("sources.list.d/*.sources")) + [Path(sources_dir) / "sources.list"]
    for path in paths:
        if not path.is_file():
            continue
        text = path.read_text()
        for uri in re.findall(r"^URIs:\s*(\S+)", text, re.MULTILINE) + re.findall(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.MULTILINE):
            if "security" not in uri and uri.startswith(("http://", "https://", "file:/")):
                return uri.rstrip("/")
    return DEFAULT_MIRROR


def image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False).returncode == 0


def build_base_image(tag: str = BASE_IMAGE, *, mirror: str | None = None, force: bool = False,
                     packages: tuple[str, ...] = PACKAGES, log=print) -> BuildResult:
    """Build `tag` from a debootstrapped Debian unless it exists; returns what happened."""
    start = time.monotonic()
    if shutil.which("docker") is None:
        raise SandboxError("the `docker` CLI is missing: run `bash launch/setup_docker.sh` (installs docker.io).")
    if not force and image_exists(tag):
        log(f"[build-base] {tag} already exists; nothing to do (force=True rebuilds)")
        return BuildResult(tag, _image_id(tag), False, time.monotonic() - start)
    if shutil.which("debootstrap") is None:
        raise SandboxError("debootstrap is missing: `apt-get install -y debootstrap` (launch/setup_docker.sh does).")
    if os.geteuid() != 0:
        raise SandboxError("build-base runs debootstrap, which needs root; run it as root (CI does).")
    mirror = mirror or apt_mirror()
    with tempfile.TemporaryDirectory(prefix="agentrl-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        log(f"[build-base] debootstrap --variant=minbase {SUITE} from {mirror} (about 1.5 minutes)")
        _run(["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", SUITE, str(rootfs), mirror])
        # Apt caches and logs only make the image bigger.
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(rootfs / junk, ignore_errors=True)
        (rootfs / "work").mkdir(exist_ok=True)
        log(f"[build-base] docker import -> {tag}")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--exclude=./proc", "--exclude=./sys", "--exclude=./dev",
                                "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(["docker", "import", "--change", "LABEL agentrl.base=1", "-", tag],
                                  stdin=tar.stdout, capture_output=True, text=True, check=False)
        tar.stdout.close()
        if tar.wait() != 0 or imported.returncode != 0:
            raise SandboxError(f"docker import of {rootfs} failed: {imported.stderr.strip()}")
    seconds = time.monotonic() - start
    log(f"[build-base] built {tag} in {seconds:.0f} s")
    return BuildResult(tag, _image_id(tag), True, seconds)


def _image_id(tag: str) -> str:
    return subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", tag], capture_output=True,
                          text=True, check=False).stdout.strip()


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise SandboxError(f"{cmd[0]} failed (exit {proc.returncode}):\n{tail}")
