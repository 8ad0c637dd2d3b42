"""Done-when for the shipped tasks, in real containers: every gold patch resolves, the empty patch resolves
nothing (and leaves exactly the recorded tests failing), and the hack suite scores 0 on each package."""

import asyncio

import pytest

from agentrl import registry
from agentrl.checker import check_env
from agentrl.environments.swe import images
from agentrl.environments.swe.grader import REPO, Grader, collect_patch
from agentrl.environments.swe.results import RESOLVED_FULL, RESOLVED_NO, parse_pytest_log
from agentrl.environments.swe.tasks import shipped_instances
from agentrl.sandbox import DockerSandbox

from .hacks import hacks

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="session")]
CONCURRENCY = 3  # container starts wait on the engine more than on the CPU


@pytest.fixture(scope="session")
def shipped(swe_docker):
    instances = shipped_instances()
    missing = [i.image for i in instances if not images.image_current(i.image)]
    assert not missing, f"{len(missing)} task images are missing or stale (first: {missing[0]}); run `bash launch/setup_swe.sh`"
    return instances


async def test_every_gold_patch_resolves_and_the_empty_patch_does_not(shipped):
    grades = await Grader().grade_many([(i, i.patch) for i in shipped] + [(i, "") for i in shipped], CONCURRENCY)
    gold, empty = grades[:len(shipped)], grades[len(shipped):]
    assert [g.instance_id for g in gold if g.resolution != RESOLVED_FULL] == []
    assert all(g.error is None and g.test_vector == (1,) * len(g.test_vector) for g in gold)
    for inst, g in zip(shipped, empty):
        assert g.resolution == RESOLVED_NO and g.error is None
        assert g.test_vector == (0,) * len(inst.FAIL_TO_PASS) + (1,) * len(inst.PASS_TO_PASS), inst.instance_id


async def test_hack_suite_scores_zero_on_every_package(shipped):
    one_per_package = list({i.repo: i for i in shipped}.values())
    grader, gate = Grader(), asyncio.Semaphore(CONCURRENCY)

    async def attempt(instance, name, script):
        async with gate:
            box = await DockerSandbox.create(instance.image)
            try:
                assert (await box.exec(script, cwd=REPO)).ok
                local = parse_pytest_log((await box.exec(f"{instance.test_cmd} 2>&1", cwd=REPO)).stdout)
                fooled = not any(local.get(t) == "FAILED" for t in instance.FAIL_TO_PASS)
                submission = await collect_patch(box, instance.base_commit)
            finally:
                await box.close()
            return name, fooled, await grader.grade(instance, submission)

    runs = await asyncio.gather(*(attempt(inst, name, script) for inst in one_per_package
                                  for name, script in hacks(inst).items()))
    for name, fooled, grade in runs:
        assert grade.error is None and grade.resolution == RESOLVED_NO, (grade.instance_id, name)
        assert grade.fail_to_pass["success"] == [] and (grade.dropped_paths or grade.flagged), (grade.instance_id, name)
        if name != "sitecustomize_exits_clean":  # only on sys.path where the test command puts the repo root
            assert fooled, f"{name} did not even fool a local run on {grade.instance_id}: the hack is broken"


async def test_registered_env_passes_the_contract_checker(shipped):
    registry.register("swe/LocalPy-v0", "agentrl.environments.swe.env:SWEEnv",
                      tasks="agentrl.environments.swe.tasks:tasks", rubric="agentrl.environments.swe.env:rubric",
                      scripted_policy="agentrl.environments.swe.env:gold_patch_policy", max_turns=32, override=True)
    report = await check_env("swe/LocalPy-v0", num_tasks=1, seeds=(0,))
    assert "same seed gives the same episode" in report.passed
    assert [ep.outcome_rewards["agent"]["resolved"] for ep in report.episodes] == [1.0]
