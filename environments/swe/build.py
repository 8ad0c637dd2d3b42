"""Build SWE tasks from real PyPI packages: download the sdist here, inject bugs, keep the ones tests catch.

    for each package (name==version, an sdist that ships its test suite):
        pip download the sdist on the host; unpack; pick its test command (or take the one given)
        run the suite in a sandbox of the pristine sources -> the tests that pass (baseline)
        for candidate mutants (mutate.py; operators interleaved, order seeded):
            run the suite with the mutant in a fresh sandbox
            keep it when 1 <= (baseline tests now failing) <= half the suite and some still pass:
                FAIL_TO_PASS = baseline tests now failing, PASS_TO_PASS = baseline tests still passing
                base_commit  = the one-commit repository of the mutated sources (repo.py: reproducible)
                patch (gold) = the inverse diff; problem statement = the failing tests and the first failure
        (by default each instance then runs only its failing tests' files: scope_to_failing_files)
    -> instances (JSONL); their images are built by `build_images` (also run by launch/setup_swe.sh)

The sources reach the images from this machine; nothing is downloaded inside a sandbox.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from agentrl.environments.swe import images, repo
from agentrl.environments.swe.diffs import is_protected
from agentrl.environments.swe.grader import GRADE_LIMITS, LOG_PATH, REPO
from agentrl.environments.swe.mutate import OPERATORS, Mutant, mutants
from agentrl.environments.swe.results import parse_pytest_log, passes
from agentrl.environments.swe.tasks import DEFAULT_TEST_CMD, SWEInstance, task_image
from agentrl.errors import TaskError
from agentrl.sandbox import SandboxPool

PACKAGE_IMAGE_REPO = "agentrl/swe-pkg"
SKIP_FILES = frozenset({"setup.py", "versioneer.py", "_version.py", "conf.py", "noxfile.py", "fabfile.py"})


@dataclasses.dataclass(frozen=True)
class PackageSpec:
    """A package to mutate: `name==version`; `test_cmd` and `sources` are detected when empty."""

    name: str
    version: str
    test_cmd: str = ""
    sources: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> PackageSpec:
        name, sep, version = text.partition("==")
        if not sep or not name or not version:
            raise TaskError(f"package {text!r}: give an exact version, like 'inflection==0.5.1'.")
        return cls(name.strip(), version.strip())


@dataclasses.dataclass(frozen=True)
class Sdist:
    name: str
    version: str
    path: Path
    sha256: str

    @property
    def source(self) -> dict[str, str]:
        return {"kind": "pypi-sdist", "name": self.name, "version": self.version, "filename": self.path.name,
                "sha256": self.sha256}


def fetch_sdist(name: str, version: str, sha256: str | None = None) -> Sdist:
    """The sdist from the host cache, downloaded with pip when missing; checked against `sha256` if given."""
    folder = images.cache_dir() / "sdists"
    try:
        path = images._find(folder, f"{name}=={version}") if folder.is_dir() else None
    except Exception:  # noqa: BLE001
        path = None
    if path is None:
        path = images.pip_download([f"{name}=={version}"], folder, sdist=True)[0]
    digest = images.sha256(path)
    if sha256 and digest != sha256:
        raise TaskError(f"{path} has sha256 {digest}, the tasks were built from {sha256}: delete it and rerun, "
                        "or rebuild the tasks for this file.")
    return Sdist(name, version, path, digest)


def detect_test_cmd(tree: Path) -> str:
    path = "src" if (tree / "src").is_dir() else "."
    if (tree / "tests").is_dir():
        targets = ["tests"]
    else:
        targets = sorted(p.name for p in tree.glob("test_*.py")) or sorted(
            str(p.relative_to(tree)) for p in tree.glob("*/tests") if p.is_dir())
    if not targets:
        raise TaskError(f"found no tests in {tree.name} (no tests/, test_*.py or <pkg>/tests/); pass test_cmd.")
    return f"PYTHONPATH={path} {DEFAULT_TEST_CMD} {' '.join(targets)}"


def scope_to_failing_files(instance: SWEInstance) -> SWEInstance:
    """The instance with its tests limited to the files that hold a FAIL_TO_PASS test, as in SWE-bench (whose
    PASS_TO_PASS come from the test patch's files): grading runs those files only, several times faster."""
    files = sorted({t.split("::")[0] for t in instance.FAIL_TO_PASS})
    prefix = instance.test_cmd.split(DEFAULT_TEST_CMD)[0] + DEFAULT_TEST_CMD
    if DEFAULT_TEST_CMD not in instance.test_cmd:
        raise TaskError(f"{instance.instance_id}: its test command does not run `{DEFAULT_TEST_CMD}`; cannot scope it.")
    p2p = tuple(t for t in instance.PASS_TO_PASS if t.split("::")[0] in files)
    return dataclasses.replace(instance, test_cmd=f"{prefix} {' '.join(files)}", PASS_TO_PASS=p2p,
                               extra={**instance.extra, "scope": "files"})


def source_files(tree: Path) -> list[str]:
    """The library's own .py files: not tests, not build or docs helpers."""
    found = []
    for path in sorted(tree.rglob("*.py")):
        rel = path.relative_to(tree).as_posix()
        if is_protected(rel) or path.name in SKIP_FILES or rel.split("/")[0] in ("docs", "doc", "examples", "benchmarks"):
            continue
        found.append(rel)
    return found


async def _run_suite(pool: SandboxPool, test_cmd: str, files: dict[str, str], timeout: float) -> tuple[dict, str]:
    async with pool.acquire() as box:
        for rel, content in files.items():
            await box.write_file(f"{box.workdir}/{REPO}/{rel}", content)
        await box.exec(f"{test_cmd} > {LOG_PATH} 2>&1", cwd=REPO, timeout=timeout)
        log = (await box.read_file(LOG_PATH)).decode(errors="replace")
    return parse_pytest_log(log), log


def _candidates(tree: Path, files: Sequence[str], rng: random.Random) -> list[tuple[str, Mutant]]:
    """All mutants, interleaved by operator so each kind is represented, in a seeded order."""
    by_op: dict[str, list[tuple[str, Mutant]]] = {op: [] for op in OPERATORS}
    for rel in files:
        try:
            for m in mutants((tree / rel).read_text(encoding="utf-8")):
                by_op[m.operator].append((rel, m))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
    for items in by_op.values():
        rng.shuffle(items)
    mixed = []
    while any(by_op.values()):
        for op in OPERATORS:
            if by_op[op]:
                mixed.append(by_op[op].pop())
    return mixed


def first_failure(log: str, test_id: str, limit: int = 1500) -> str:
    """The traceback block of `test_id` from a --tb=short log (its function name's section), trimmed."""
    name = test_id.split("::", 1)[-1].replace("::", ".")
    blocks = re.split(r"^_{3,} (.+?) _{3,}$", log, flags=re.MULTILINE)
    for title, body in zip(blocks[1::2], blocks[2::2]):
        if title.strip() == name:
            body = body.split("\n=====")[0].strip()
            return body if len(body) <= limit else body[:limit] + "\n[...]"
    return ""


def problem_statement(name: str, f2p: Sequence[str], log: str) -> str:
    listed = "\n".join(f"- {t}" for t in f2p[:10]) + (f"\n- ... and {len(f2p) - 10} more" if len(f2p) > 10 else "")
    failure = first_failure(log, f2p[0])
    shown = f"\n\nThe first failure:\n```\n{failure}\n```" if failure else ""
    return (f"Some tests of `{name}` fail after a recent change to the library code. These tests fail:\n{listed}"
            f"{shown}\n\nFind the bug in the library and fix it so that these tests pass and no other test breaks.")


async def build_package_tasks(spec: PackageSpec, *, count: int, seed: int = 0, max_tries: int = 60,
                              concurrency: int = 2, test_timeout: float = 120.0, scope: str = "files",
                              log: Callable[[str], None] = print) -> list[SWEInstance]:
    """Up to `count` instances from one package (see the module docstring). With scope "files" (the default)
    each instance runs only the test files of its failing tests (`scope_to_failing_files`); "suite" keeps
    the whole suite as PASS_TO_PASS."""
    if scope not in ("files", "suite"):
        raise TaskError(f"scope must be 'files' or 'suite', got {scope!r}")
    sdist = fetch_sdist(spec.name, spec.version)
    images.toolchain_image(log=log)
    with tempfile.TemporaryDirectory(prefix="agentrl-swe-build-") as tmp:
        tree = repo.extract_sdist(sdist.path, Path(tmp))
        test_cmd = spec.test_cmd or detect_test_cmd(tree)
        files = list(spec.sources) or source_files(tree)
        package_image = f"{PACKAGE_IMAGE_REPO}:{spec.name}-{spec.version}".lower()
        images.seed_image(tree, package_image)
        async with SandboxPool.docker(image=package_image, limits=GRADE_LIMITS, size=concurrency) as pool:
            results, baseline_log = await _run_suite(pool, test_cmd, {}, test_timeout)
            passing = sorted(t for t, s in results.items() if passes(s))
            if not passing:
                raise TaskError(f"{spec.name} {spec.version}: no test passes on the pristine sources with "
                                f"`{test_cmd}`:\n{baseline_log[-1500:]}")
            log(f"[swe] {spec.name} {spec.version}: {len(passing)} tests pass; trying mutants of {len(files)} files")
            candidates = _candidates(tree, files, random.Random(f"{spec.name}-{seed}"))[:max_tries]
            gate = asyncio.Semaphore(concurrency)

            async def trial(rel: str, mutant: Mutant):
                async with gate:
                    return await _run_suite(pool, test_cmd, {rel: mutant.source}, test_timeout)

            runs = await asyncio.gather(*(trial(rel, m) for rel, m in candidates))
        kept: list[SWEInstance] = []
        for (rel, mutant), (after, after_log) in zip(candidates, runs):
            f2p = [t for t in passing if not passes(after.get(t))]
            p2p = [t for t in passing if passes(after.get(t))]
            if not f2p or len(f2p) > len(passing) // 2 or not p2p or len(kept) >= count:
                continue
            made = _instance(spec, sdist, tree, rel, mutant, f2p, p2p, after_log, test_cmd, len(kept))
            kept.append(scope_to_failing_files(made) if scope == "files" else made)
        log(f"[swe] {spec.name} {spec.version}: kept {len(kept)} of {len(candidates)} mutants")
        return kept


def _instance(spec: PackageSpec, sdist: Sdist, pristine: Path, rel: str, mutant: Mutant, f2p: list[str],
              p2p: list[str], log: str, test_cmd: str, index: int) -> SWEInstance:
    with tempfile.TemporaryDirectory(prefix="agentrl-swe-task-") as tmp:
        tree = Path(tmp) / "repo"
        shutil.copytree(pristine, tree)
        (tree / rel).write_text(mutant.source, encoding="utf-8")
        base = repo.commit_tree(tree, repo.base_message(spec.name, spec.version))
        shutil.copy2(pristine / rel, tree / rel)
        gold = repo.diff_against_head(tree)
    instance_id = f"pypi__{spec.name}-{spec.version}-{index:04d}"
    return SWEInstance(
        instance_id=instance_id, repo=f"pypi/{spec.name}", base_commit=base,
        problem_statement=problem_statement(spec.name, f2p, log), FAIL_TO_PASS=tuple(f2p), PASS_TO_PASS=tuple(p2p),
        test_patch="", patch=gold, image=task_image(instance_id), test_cmd=test_cmd,
        extra={"version": spec.version, "source": sdist.source,
               "mutation": {"operator": mutant.operator, "file": rel, "line": mutant.line,
                            "description": mutant.description}})


def build_images(instances: Iterable[SWEInstance], *, force: bool = False,
                 log: Callable[[str], None] = print) -> list[str]:
    """Build the image of every instance made by this builder (sdist from the host cache or PyPI, checked by
    sha256): the mutated sources in a one-commit repository whose id must equal `base_commit`."""
    images.toolchain_image(log=log)
    built = []
    by_source: dict[tuple, list[SWEInstance]] = {}
    for inst in instances:
        source = inst.extra.get("source")
        if not source or source.get("kind") != "pypi-sdist":
            raise TaskError(f"{inst.instance_id}: no pypi-sdist source recorded; only instances made by "
                            "`agentrl swe build-tasks` can have their images built here.")
        if force or not images.image_current(inst.image):
            by_source.setdefault((source["name"], source["version"], source["sha256"]), []).append(inst)
    for (name, version, digest), group in by_source.items():
        sdist = fetch_sdist(name, version, digest)
        with tempfile.TemporaryDirectory(prefix="agentrl-swe-img-") as tmp:
            pristine = repo.extract_sdist(sdist.path, Path(tmp))
            for inst in group:
                tree = Path(tmp) / "task" / "repo"
                shutil.rmtree(tree.parent, ignore_errors=True)
                shutil.copytree(pristine, tree)
                repo.apply_patch(tree, inst.patch, reverse=True)
                repo.recommit(tree, repo.base_message(name, version), inst.base_commit)
                images.seed_image(tree, inst.image, labels={"agentrl.swe.instance": inst.instance_id})
                built.append(inst.image)
        log(f"[swe] built {len(group)} task image(s) of {name} {version}")
    return built
