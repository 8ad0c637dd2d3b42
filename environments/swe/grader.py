"""Grading like SWE-bench, in a fresh sandbox the agent never touched.

    grade(instance, patch):
        fresh sandbox from the instance's image (the repo at base_commit; checked)
        drop the patch's sections on protected paths (test files, conftest.py, pytest config: diffs.py)
        a patch whose added code reaches for the test harness is flagged and scored 0 unrun (diffs.tampering)
        apply what is left (git apply, then `patch --fuzz` as SWE-bench does); failure -> not resolved
        apply the instance's test_patch (the agent never saw it)
        run the instance's test command, parse the pytest -rA summary, score FAIL_TO_PASS / PASS_TO_PASS

The grader runs on the host and reaches the sandbox only through the sandbox protocol; nothing inside a
sandbox can reach it (no network). Every grade uses its own sandbox, closed afterwards.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Awaitable, Callable, Iterable

from agentrl.environments.swe.diffs import filter_patch, tampering
from agentrl.environments.swe.results import GradeResult, parse_pytest_log, score
from agentrl.environments.swe.tasks import SWEInstance
from agentrl.sandbox.base import Sandbox, SandboxError, SandboxLimits

REPO = "repo"  # the repository's folder inside the sandbox work dir
LOG_PATH = "/tmp/agentrl_test_output.log"
GRADE_LIMITS = SandboxLimits(memory=1024 * 2**20, cpus=1.0, pids=256, disk=256 * 2**20, command_timeout=300.0,
                             episode_timeout=1200.0, output_cap=64 * 2**10)
SandboxFactory = Callable[[str], Awaitable[Sandbox]]


def docker_factory(limits: SandboxLimits = GRADE_LIMITS, labels: dict[str, str] | None = None) -> SandboxFactory:
    def make(image: str) -> Awaitable[Sandbox]:
        from agentrl.sandbox.docker_backend import DockerSandbox
        return DockerSandbox.create(image, limits, labels={"agentrl.swe": "grade", **(labels or {})})
    return make


class Grader:
    """Grades submissions; `factory(image)` gives a fresh sandbox (default: a locked-down Docker container)."""

    def __init__(self, factory: SandboxFactory | None = None, *, test_timeout: float = 300.0):
        self.factory = factory or docker_factory()
        self.test_timeout = test_timeout

    async def grade(self, instance: SWEInstance, patch: str | None) -> GradeResult:
        start = time.monotonic()
        patch = patch or ""
        box = await self.factory(instance.image)
        try:
            return await self._grade_in(box, instance, patch, start)
        finally:
            await asyncio.shield(box.close())

    async def grade_many(self, pairs: Iterable[tuple[SWEInstance, str | None]], concurrency: int = 2) -> list[GradeResult]:
        """Grade (instance, patch) pairs, `concurrency` sandboxes at a time; results in input order."""
        gate = asyncio.Semaphore(concurrency)

        async def one(instance: SWEInstance, patch: str | None) -> GradeResult:
            async with gate:
                return await self.grade(instance, patch)

        return list(await asyncio.gather(*(one(i, p) for i, p in pairs)))

    async def _grade_in(self, box: Sandbox, instance: SWEInstance, patch: str, start: float) -> GradeResult:
        def finish(results: dict[str, str], applied: bool, **extra) -> GradeResult:
            return score(instance.instance_id, instance.FAIL_TO_PASS, instance.PASS_TO_PASS, results,
                         patch_exists=bool(patch.strip()), patch_applied=applied, dropped_paths=filtered.dropped,
                         flagged=flagged, seconds=time.monotonic() - start, **extra)

        filtered = filter_patch(patch)
        flagged = tampering(filtered.patch)
        head = await box.exec("git rev-parse HEAD", cwd=REPO, timeout=30)
        if head.stdout.strip() != instance.base_commit:
            return finish({}, False, error=f"the image {instance.image} is not at base_commit "
                          f"{instance.base_commit} (git says {head.stdout.strip() or head.stderr.strip()!r}); "
                          "rebuild it with `agentrl swe build-images`.")
        applied, output = True, ""
        if flagged:
            return finish({}, False, apply_output="not applied: the patch tampers with the test harness\n"
                          + "\n".join(flagged))
        if filtered.patch.strip():
            applied, output = await apply_patch(box, filtered.patch, "model.patch")
            if not applied:
                return finish({}, False, apply_output=output)
        if instance.test_patch.strip():
            ok, test_output = await apply_patch(box, instance.test_patch, "test.patch", fuzzy=False)
            if not ok:
                return finish({}, applied, apply_output=output,
                              error=f"the instance's test_patch does not apply after the model patch:\n{test_output}")
        run = await box.exec(f"{instance.test_cmd} > {LOG_PATH} 2>&1", cwd=REPO, timeout=self.test_timeout)
        log = (await box.read_file(LOG_PATH, max_bytes=16 * 2**20)).decode(errors="replace")
        if run.timed_out:
            log += f"\n[agentrl] the test command was killed after {self.test_timeout} s\n"
        return finish(parse_pytest_log(log), applied, apply_output=output, log=log)


async def apply_patch(box: Sandbox, patch: str, name: str, *, fuzzy: bool = True) -> tuple[bool, str]:
    """Apply `patch` in the repo: `git apply`, then (if `fuzzy`) GNU patch with fuzz. Returns (ok, output)."""
    path = f"/tmp/{name}"
    await box.write_file(path, patch if patch.endswith("\n") else patch + "\n")
    first = await box.exec(f"git apply --verbose --whitespace=nowarn {path}", cwd=REPO, timeout=60)
    if first.ok or not fuzzy:
        return first.ok, first.stdout + first.stderr
    second = await box.exec(f"patch --batch --fuzz=5 -p1 --forward --no-backup-if-mismatch -i {path}",
                            cwd=REPO, timeout=60)
    return second.ok, first.stderr + second.stdout + second.stderr


async def collect_patch(box: Sandbox, base_commit: str) -> str:
    """The agent's changes in its sandbox as a git patch against `base_commit` (new files included)."""
    out = "/tmp/agentrl_submission.patch"
    cmd = (f"git add --all . && git diff --cached --binary --no-color --no-ext-diff --no-textconv "
           f"{shlex.quote(base_commit)} > {out}")
    result = await box.exec(cmd, cwd=REPO, timeout=60)
    if not result.ok:
        raise SandboxError(f"could not collect the patch (exit {result.exit_code}): {result.stderr[-500:]}")
    return (await box.read_file(out, max_bytes=8 * 2**20)).decode(errors="replace")
