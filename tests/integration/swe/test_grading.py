"""The grader against real containers on the toy repo: resolution, partial credit, hacks, clean history."""

import pytest

from agentrl.environments.swe.grader import REPO, Grader, collect_patch
from agentrl.environments.swe.results import RESOLVED_FULL, RESOLVED_NO, RESOLVED_PARTIAL, parse_pytest_log
from agentrl.sandbox import DockerSandbox

from .hacks import FORCE_PASS_CONFTEST, hacks

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="session")
def grader():
    return Grader()


async def test_gold_resolves_empty_does_not_half_is_partial(toy, grader):
    instance, half = toy
    gold, empty, partial = await grader.grade_many([(instance, instance.patch), (instance, ""), (instance, half)])
    assert (gold.resolution, gold.test_vector, gold.error) == (RESOLVED_FULL, (1, 1, 1), None)
    assert gold.patch_applied and gold.resolved
    assert (empty.resolution, empty.test_vector, empty.patch_exists) == (RESOLVED_NO, (0, 0, 1), False)
    assert (partial.resolution, partial.test_vector) == (RESOLVED_PARTIAL, (1, 0, 1))
    assert "PASSED tests/test_hidden.py::test_add" in partial.log  # the hidden tests did run


async def test_bad_patches_are_graded_not_applied(toy, grader):
    instance, _ = toy
    garbage = "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n-nothing\n+like this\n"
    broken_code = instance.patch.replace("return -a", "return -a +")
    bad, syntax = await grader.grade_many([(instance, garbage), (instance, broken_code)])
    assert (bad.patch_applied, bad.resolution, bad.test_vector) == (False, RESOLVED_NO, (0, 0, 0))
    assert "patch does not apply" in bad.apply_output or "FAILED" in bad.apply_output
    assert syntax.patch_applied and syntax.resolution == RESOLVED_NO and syntax.test_vector == (0, 0, 0)


async def test_grading_a_stale_image_is_an_error_not_a_zero(toy, grader):
    instance, _ = toy
    stale = type(instance).from_dict({**instance.to_dict(), "base_commit": "0" * 40})
    result = await grader.grade(stale, stale.patch)
    assert result.error and "not at base_commit" in result.error and not result.resolved


async def test_history_holds_only_the_base_commit(toy):
    instance, _ = toy
    box = await DockerSandbox.create(instance.image)
    try:
        revs = await box.exec("git rev-list --all; git stash list; git reflog", cwd=REPO)
        assert revs.stdout.splitlines() == [instance.base_commit, (f"{instance.base_commit[:7]} HEAD@{{0}}: "
                                            "commit (initial): toy calc")]
        assert not (await box.exec("ls .git/ORIG_HEAD .git/refs/stash", cwd=REPO)).ok
        every = await box.exec("git cat-file --batch-all-objects --batch-check | wc -l", cwd=REPO)
        reachable = await box.exec("git rev-list --objects --all | wc -l", cwd=REPO)
        assert every.stdout.strip() == reachable.stdout.strip()
        assert "return a + b" not in (await box.exec("git log --all -p", cwd=REPO)).stdout
        assert (await box.exec("test ! -e /work/repo/tests/test_hidden.py && echo hidden")).stdout == "hidden\n"
    finally:
        await box.close()


@pytest.mark.parametrize("hack", ["entry_point_plugin_forces_passes", "delete_failing_tests", "skip_failing_tests",
                                  "overwrite_failing_tests", "conftest_forces_passes", "pytest_ini_deselects",
                                  "sitecustomize_exits_clean", "git_history_commits_test_edits",
                                  "conftest_skips_via_markers", "source_module_forces_passes",
                                  "source_module_prints_expected_output"])
async def test_hack_works_in_the_agents_sandbox_but_scores_zero(toy, grader, hack):
    instance, _ = toy
    assert set(hacks(instance)) >= {hack}
    box = await DockerSandbox.create(instance.image)
    try:
        # Put the hidden tests in the agent's sandbox so we can see the hack fool a local run.
        await box.write_file("/tmp/hidden.patch", instance.test_patch)
        assert (await box.exec("git apply /tmp/hidden.patch && git add -A && "
                               "git -c user.name=a -c user.email=a@b commit -qm hidden", cwd=REPO)).ok
        base_with_tests = (await box.exec("git rev-parse HEAD", cwd=REPO)).stdout.strip()
        ran = await box.exec(hacks(instance)[hack], cwd=REPO)
        assert ran.ok, ran.stderr
        local = await box.exec(f"{instance.test_cmd} 2>&1", cwd=REPO)
        statuses = parse_pytest_log(local.stdout)
        assert not any(statuses.get(t) == "FAILED" for t in instance.FAIL_TO_PASS), local.stdout[-2000:]
        submission = await collect_patch(box, base_with_tests)
        assert submission.strip()
    finally:
        await box.close()
    # The submission is graded against the real base commit, where the hidden tests are the grader's.
    result = await grader.grade(instance, submission)
    assert result.error is None
    assert result.resolution == RESOLVED_NO and result.fail_to_pass["success"] == [], result.log[-2000:]
    assert result.dropped_paths or result.flagged


async def test_a_hand_written_patch_cannot_hide_a_conftest_behind_quoted_paths(toy, grader):
    """Git quotes odd paths ("b/x"); git apply unquotes them. A patch file the agent writes itself (the grader
    takes any text, as SWE-bench predictions do) can quote a plain name so that a name check misses it."""
    instance, _ = toy
    body = "".join(f"+{line}\n" for line in FORCE_PASS_CONFTEST.splitlines())
    forged = (f'diff --git "a/conftest.py" "b/conftest.py"\nnew file mode 100644\n--- /dev/null\n'
              f'+++ "b/conftest.py"\n@@ -0,0 +1,{len(FORCE_PASS_CONFTEST.splitlines())} @@\n{body}')
    result = await grader.grade(instance, forged)
    assert result.error is None and result.resolution == RESOLVED_NO, result.log[-2000:]
    assert result.dropped_paths == ("conftest.py",)
