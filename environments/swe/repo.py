"""Host-side repository states: an sdist unpacked into a one-commit git repository, reproducibly.

The commit's author, committer, dates and message are fixed, so the same tree always gets the same
commit id: an instance's `base_commit` is checked when its image is rebuilt on another machine.
The repository has exactly one commit and no other objects: there is no future to `git log` into.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

from agentrl.errors import TaskError

GIT_ENV = {"GIT_AUTHOR_NAME": "agentrl", "GIT_AUTHOR_EMAIL": "agentrl@localhost",
           "GIT_COMMITTER_NAME": "agentrl", "GIT_COMMITTER_EMAIL": "agentrl@localhost",
           "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000", "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
           "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}
GIT_OPTS = ("-c", "core.autocrlf=false", "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null",
            "-c", "init.defaultBranch=main")


def git(tree: Path, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["git", *GIT_OPTS, *args], cwd=tree, input=stdin, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, check=False)
    if check and proc.returncode != 0:
        raise TaskError(f"git {' '.join(args)} failed in {tree}: {proc.stderr.strip()[-1500:]}")
    return proc


def extract_sdist(sdist: Path, dest: Path) -> Path:
    """Unpack `sdist` into dest/repo (its single top folder stripped; egg-info and caches dropped)."""
    staging = dest / "unpacked"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    if sdist.name.endswith(".zip"):
        with zipfile.ZipFile(sdist) as z:
            z.extractall(staging)
    else:
        with tarfile.open(sdist) as t:
            t.extractall(staging, filter="data")
    tops = list(staging.iterdir())
    if len(tops) != 1 or not tops[0].is_dir():
        raise TaskError(f"{sdist.name}: an sdist should hold one top folder, found {[p.name for p in tops]}")
    tree = dest / "repo"
    shutil.rmtree(tree, ignore_errors=True)
    tops[0].rename(tree)
    staging.rmdir()
    for junk in [*tree.rglob("*.egg-info"), *tree.rglob("__pycache__"), *tree.rglob(".pytest_cache")]:
        shutil.rmtree(junk, ignore_errors=True)
    return tree


def commit_tree(tree: Path, message: str) -> str:
    """Make `tree` a fresh git repository with one commit of everything in it; returns the commit id."""
    shutil.rmtree(tree / ".git", ignore_errors=True)
    git(tree, "init", "--quiet", "--template=")
    git(tree, "add", "--all", "--force", ".")
    git(tree, "commit", "--quiet", "--no-verify", "-m", message)
    return git(tree, "rev-parse", "HEAD").stdout.strip()


def recommit(tree: Path, message: str, expected: str) -> None:
    """Rebuild `tree`'s history from scratch and check it lands on `expected`: diffing wrote objects
    (the fixed sources among them) into .git, and none may reach an image."""
    got = commit_tree(tree, message)
    if got != expected:
        raise TaskError(f"{tree}: rebuilding the repository gave commit {got}, expected {expected}; the sources "
                        "differ from those the instance was made from (another sdist, or a changed patch).")


def diff_against_head(tree: Path) -> str:
    """The working tree's changes against HEAD, as a git patch (new files included)."""
    git(tree, "add", "--all", "--force", ".")
    patch = git(tree, "diff", "--cached", "--binary", "--no-color", "--no-ext-diff", "HEAD").stdout
    git(tree, "reset", "--quiet")
    return patch


def apply_patch(tree: Path, patch: str, *, reverse: bool = False) -> None:
    if patch.strip():
        git(tree, "apply", "--whitespace=nowarn", *(["-R"] if reverse else []), "-", stdin=patch)


def base_message(name: str, version: str) -> str:
    return f"{name} {version}\n"
