"""Task images, built offline on this machine: nothing is ever fetched from inside a sandbox.

    base (agentrl/base:bookworm: Debian, python3, git)
      -> toolchain  agentrl/swe-py:<pytest version>   pytest and its deps unpacked from wheels
        -> task     agentrl/swe-task:<instance id>    the repo at base_commit, as the work-dir seed

An image is made without running anything in it: a container is created (never started) from the parent,
files are copied in with the engine's archive API, and the container is committed. The task layer holds the
buggy repository with a one-commit git history, so the fixed sources never enter any image the agent runs.
Sources (sdists) and wheels are downloaded here, on the host, by pip into a cache directory.
"""

from __future__ import annotations

import compileall
import hashlib
import io
import os
import py_compile
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

from agentrl.sandbox.base import SandboxError

TOOLCHAIN_REPO = "agentrl/swe-py"
# Pure-Python wheels only: the image's python3 (3.11 on bookworm) imports them from /usr/lib/python3/dist-packages.
TOOLCHAIN = ("pytest==8.3.5", "pluggy==1.5.0", "iniconfig==2.0.0", "packaging==24.2")
# Bump the suffix when the toolchain's contents change: task images record it and are rebuilt on a mismatch.
TOOLCHAIN_TAG = f"{TOOLCHAIN_REPO}:pytest-8.3.5-pyc"
SITE = "usr/lib/python3/dist-packages"
SEED = "opt/agentrl/work.tar"
LABEL = "agentrl.swe"
TOOLCHAIN_LABEL = "agentrl.swe.toolchain"


def cache_dir() -> Path:
    root = Path(os.environ.get("AGENTRL_SWE_CACHE", Path.home() / ".cache" / "agentrl" / "swe"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def pip_download(requirements: Iterable[str], dest: Path, *, sdist: bool) -> list[Path]:
    """Download on the host with pip (sdists or wheels, no dependencies); returns the files for these specs."""
    dest.mkdir(parents=True, exist_ok=True)
    kind = ["--no-binary", ":all:"] if sdist else ["--only-binary", ":all:"]
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-build-isolation", *kind,
           "-d", str(dest), *requirements]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SandboxError(f"pip download {' '.join(requirements)} failed:\n{proc.stderr.strip()[-2000:]}")
    return [_find(dest, r) for r in requirements]


def _find(dest: Path, requirement: str) -> Path:
    name, _, version = requirement.partition("==")
    stem = name.replace("-", "_").lower()
    for path in sorted(dest.iterdir()):
        low = path.name.lower().replace("-", "_")
        if low.startswith(f"{stem}_{version}".lower() if version else f"{stem}_") and \
                path.name.endswith((".whl", ".tar.gz", ".zip")):
            return path
    raise SandboxError(f"pip reported success but no file for {requirement} is in {dest}")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- image plumbing ---------------------------------------------------------------------------------------------
def image_labels(tag: str) -> dict[str, str] | None:
    """The image's labels, or None when there is no such image."""
    import docker.errors

    from agentrl.sandbox.docker_backend import docker_client
    try:
        return docker_client().api.inspect_image(tag)["Config"].get("Labels") or {}
    except docker.errors.ImageNotFound:
        return None


def image_exists(tag: str) -> bool:
    return image_labels(tag) is not None


def image_current(tag: str) -> bool:
    """The image exists and was built on the current toolchain."""
    return (image_labels(tag) or {}).get(TOOLCHAIN_LABEL) == TOOLCHAIN_TAG


def commit_files(parent: str, archive: bytes, tag: str, labels: dict[str, str] | None = None) -> str:
    """A new image `tag` = `parent` + the tar `archive` extracted at /; nothing runs. Returns the image id."""
    from agentrl.sandbox.docker_backend import LIVE_CONTAINERS, docker_client, remove_container
    from agentrl.sandbox.owner import owner_labels

    client = docker_client()
    repository, _, version = tag.rpartition(":")
    helper = client.containers.create(image=parent, command=["true"], labels=owner_labels(), network_mode="none")
    LIVE_CONTAINERS[helper.id] = client
    try:
        helper.put_archive("/", archive)
        image = helper.commit(repository=repository, tag=version, conf={"Labels": {LABEL: "1", **(labels or {})}})
        return image.id
    finally:
        remove_container(client, helper.id)


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    tar.addfile(info, io.BytesIO(data))


def toolchain_image(*, force: bool = False, log=print) -> str:
    """The shared test toolchain image (pytest from wheels on top of the base image); built once."""
    from agentrl.sandbox.docker_backend import BASE_IMAGE

    if not force and image_exists(TOOLCHAIN_TAG):
        return TOOLCHAIN_TAG
    if not image_exists(BASE_IMAGE):
        raise SandboxError(f"{BASE_IMAGE} is missing: run `bash launch/setup_docker.sh` (or agentrl sandbox "
                           "build-base) first.")
    log(f"[swe] building {TOOLCHAIN_TAG} from {', '.join(TOOLCHAIN)}")
    wheels = pip_download(TOOLCHAIN, cache_dir() / "wheels", sdist=False)
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="agentrl-swe-site-") as tmp, tarfile.open(fileobj=buf, mode="w") as tar:
        site = Path(tmp)
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as z:
                z.extractall(site)
        _precompile(site)
        for path in sorted(site.rglob("*")):
            if path.is_file():
                _add(tar, f"{SITE}/{path.relative_to(site).as_posix()}", path.read_bytes())
        _add(tar, "usr/local/bin/pytest", b'#!/bin/sh\nexec python3 -m pytest "$@"\n', 0o755)
    commit_files(BASE_IMAGE, buf.getvalue(), TOOLCHAIN_TAG)
    return TOOLCHAIN_TAG


def _precompile(site: Path) -> None:
    # Sandboxes run with PYTHONDONTWRITEBYTECODE, so without these every test run would compile pytest
    # again (about 1 s of CPU per grade). Only when this interpreter matches the image's (bookworm: 3.11);
    # unchecked-hash .pyc files stay valid whatever the files' timestamps in the image.
    if sys.version_info[:2] == (3, 11):
        compileall.compile_dir(site, ddir=f"/{SITE}", quiet=1, workers=1,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)


def workdir_seed(tree: Path, arcname: str = "repo") -> bytes:
    """The work-dir seed the sandbox agent restores at start: `tree` as ./<arcname>, gzipped, owned by nobody."""
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz", compresslevel=6) as t:
        def own(info: tarfile.TarInfo) -> tarfile.TarInfo:
            info.uid = info.gid = 65534
            info.uname = info.gname = ""
            info.mode |= 0o600 if info.isfile() else 0o700
            return info
        t.add(str(tree), arcname=arcname, filter=own)
    outer = io.BytesIO()
    with tarfile.open(fileobj=outer, mode="w") as tar:
        folder = tarfile.TarInfo("opt/agentrl")
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(folder)
        _add(tar, SEED, inner.getvalue())
    return outer.getvalue()


def seed_image(tree: Path, tag: str, *, parent: str = TOOLCHAIN_TAG, labels: dict[str, str] | None = None) -> str:
    """An image whose sandboxes start with `tree` copied to <workdir>/repo."""
    return commit_files(parent, workdir_seed(tree), tag, {TOOLCHAIN_LABEL: parent, **(labels or {})})
