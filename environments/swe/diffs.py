"""Unified diffs (git format): split per file, tell test files apart, drop what a fix may not touch.

A submitted patch is untrusted. Before grading, `filter_patch` removes every file section that touches
a protected path, because each of these can change what the tests report without fixing the code:
- test files: any path with a `test`/`tests`/`testing` directory, or named test_*.py, *_test.py, tests.py;
- pytest hooks and configuration: conftest.py anywhere, pytest.ini, tox.ini, setup.cfg, pyproject.toml;
- interpreter start-up hooks: sitecustomize.py, usercustomize.py, *.pth;
- package metadata (*.dist-info, *.egg-info): an entry point there would load a pytest plugin (pytest11);
- git metadata (.git/, .gitattributes) and symbolic links (a link could point an edit at a test file).
Paths are read the way `git apply` reads them, C-style quotes included ("b/conftest.py" is conftest.py).

Code a fix adds runs inside the pytest process, where it can rewrite pytest's reports or print a summary of
its own. `tampering` flags added lines that reach for the test harness (pytest internals, exit hooks, the
result log); the grader scores a flagged patch 0 without running it. It is a tripwire, not a proof: its
patterns are the ways in we know of, and a fix to a real library has no reason to use them.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import PurePosixPath

_HEADER = re.compile(r'^diff --git (?:a/(.+?)|"a/((?:[^"\\]|\\.)*)") (?:b/(.+)|"b/((?:[^"\\]|\\.)*)")$')
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}
TEST_DIRS = frozenset({"test", "tests", "testing"})
PROTECTED_NAMES = frozenset({"conftest.py", "pytest.ini", "tox.ini", "setup.cfg", "pyproject.toml",
                             "sitecustomize.py", "usercustomize.py", ".gitattributes"})


@dataclasses.dataclass(frozen=True)
class FileDiff:
    """One file's section of a git diff: its old and new paths and the raw text (header included)."""

    old_path: str | None
    new_path: str | None
    text: str

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(p for p in {self.old_path, self.new_path} if p)

    @property
    def is_symlink(self) -> bool:
        return bool(re.search(r"^(new file mode|new mode|index [0-9a-f]+\.\.[0-9a-f]+) 120000", self.text, re.MULTILINE))


def split_patch(patch: str) -> list[FileDiff]:
    """The per-file sections of a git-style diff; text before the first header (a commit message) is dropped."""
    lines = patch.splitlines(keepends=True)
    git_style = any(line.startswith("diff --git ") for line in lines)
    sections: list[list[str]] = []
    for i, line in enumerate(lines):
        # Plain `diff -u` output has no "diff --git" headers: a section starts at a ---/+++ pair.
        starts = (line.startswith("diff --git ") if git_style else
                  line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "))
        if starts:
            sections.append([line])
        elif sections:
            sections[-1].append(line)
    return [_file_diff("".join(section)) for section in sections]


def _file_diff(text: str) -> FileDiff:
    lines = text.splitlines()
    old = new = None
    match = _HEADER.match(lines[0])
    if match:
        old = match.group(1) if match.group(1) is not None else _unquote(match.group(2))
        new = match.group(3) if match.group(3) is not None else _unquote(match.group(4))
    for line in lines[0 if not match else 1:]:
        if line.startswith("@@"):
            break
        if line.startswith("--- "):
            old = None if line[4:].strip() == "/dev/null" else _strip_prefix(line[4:])
        elif line.startswith("+++ "):
            new = None if line[4:].strip() == "/dev/null" else _strip_prefix(line[4:])
        elif line.startswith(("rename from ", "copy from ")):
            old = line.split(" ", 2)[2]
        elif line.startswith(("rename to ", "copy to ")):
            new = line.split(" ", 2)[2]
        elif line.startswith("deleted file mode"):
            new = None
        elif line.startswith("new file mode"):
            old = None
    return FileDiff(old, new, text)


def _strip_prefix(path: str) -> str:
    path = path.rstrip("\n")
    if path.startswith('"'):
        end = re.match(r'"((?:[^"\\]|\\.)*)"', path)
        path = _unquote(end.group(1)) if end else path
    else:
        path = path.split("\t")[0]
    return path[2:] if path[:2] in ("a/", "b/") else path


def _unquote(body: str) -> str:
    """A path git wrote C-style quoted (without its quotes): backslash escapes and octal bytes, as UTF-8."""
    out, i = bytearray(), 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            octal = re.match(r"[0-7]{3}", body[i + 1:i + 4])
            if octal:
                out.append(int(octal.group(), 8) & 0xFF)
                i += 4
                continue
            out.append(_ESCAPES.get(body[i + 1], ord(body[i + 1]) & 0xFF))
            i += 2
        else:
            out.extend(body[i].encode())
            i += 1
    return out.decode(errors="replace")


def is_test_path(path: str) -> bool:
    p = PurePosixPath(path)
    name = p.name
    return (any(part in TEST_DIRS for part in p.parts[:-1]) or name == "tests.py"
            or (name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))))


def is_protected(path: str) -> bool:
    """True for paths a submitted fix may not change (see the module docstring)."""
    p = PurePosixPath(path)
    return (is_test_path(path) or p.name in PROTECTED_NAMES or p.suffix == ".pth"
            or any(part.endswith((".dist-info", ".egg-info")) for part in p.parts)
            or (p.parts and p.parts[0] == ".git") or ".." in p.parts or p.is_absolute())


@dataclasses.dataclass(frozen=True)
class FilteredPatch:
    patch: str  # what will be applied
    dropped: tuple[str, ...]  # paths whose sections were removed


def filter_patch(patch: str) -> FilteredPatch:
    """The patch without the sections that touch protected paths or symbolic links."""
    kept, dropped = [], []
    for section in split_patch(patch):
        if section.is_symlink or any(is_protected(p) for p in section.paths):
            dropped.extend(section.paths)
        else:
            kept.append(section.text)
    return FilteredPatch("".join(kept), tuple(dropped))


_TAMPERING = {
    "pytest internals": re.compile(r"\b_?pytest\b"),
    "an exit hook": re.compile(r"\batexit\b|\bos\._exit\b"),
    "dynamic import": re.compile(r"\b__import__\b|\bimportlib\b|\bsys\.modules\b"),
    "a heap scan": re.compile(r"\bgc\.get_objects\b|\bgc\.get_referrers\b"),
    "a tracing hook": re.compile(r"\bsys\.(?:settrace|setprofile)\b"),
    "a test status word": re.compile(r"\b(?:PASSED|FAILED|XFAIL|XPASS)\b|short test summary"),
    "the grader's log": re.compile(r"agentrl_test_output"),
    "raw file descriptors": re.compile(r"/proc/self/fd|\bos\.(?:dup2?|write)\s*\("),
}


def tampering(patch: str) -> tuple[str, ...]:
    """Why the lines `patch` adds look like an attack on the test harness (empty when they do not)."""
    found = {}
    for section in split_patch(patch):
        for line in section.text.splitlines():
            if line.startswith("+") and not line.startswith("+++"):
                for why, pattern in _TAMPERING.items():
                    if why not in found and pattern.search(line):
                        found[why] = f"{why}: {line[1:].strip()[:120]}"
    return tuple(found.values())


def changed_paths(patch: str) -> list[str]:
    return sorted({p for section in split_patch(patch) for p in section.paths})
