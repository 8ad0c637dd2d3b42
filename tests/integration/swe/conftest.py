"""Session fixtures for the SWE tests against a real Docker engine.

`toy` is a tiny repository built here (two bugs, a hidden test patch) for the grader and env tests.
The shipped instances' images come from `bash launch/setup_swe.sh` (it downloads the sdists on the host
and builds the images); a missing one fails with that fix rather than being built silently here.
At the end no container of this session may be left.
"""

import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from agentrl.environments.swe import images, repo
from agentrl.environments.swe.tasks import SWEInstance
from agentrl.sandbox.docker_backend import BASE_IMAGE
from agentrl.sandbox.owner import OWNER_LABEL, owner_id

TOY_IMAGE = "agentrl/swe-task:test-toy"
CALC_BUGGY = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n\n\ndef neg(a):\n    return a\n"
CALC_FIXED = CALC_BUGGY.replace("a - b", "a + b").replace("return a\n", "return -a\n")
TEST_CALC = "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n"
TEST_HIDDEN = ("from calc import add, neg\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
               "def test_neg():\n    assert neg(2) == -2\n")


def our_containers() -> list[str]:
    """This process's containers of SWE images. Other fixtures' sandboxes (the sandbox suite's session pool of
    the base image, which has its own leak check when it closes) are not the SWE tests' to judge."""
    out = subprocess.run(["docker", "ps", "-a", "--filter", f"label={OWNER_LABEL}={owner_id()}",
                          "--format", "{{.ID}} {{.Image}}"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    rows = [line.split(" ", 1) for line in out.stdout.splitlines() if line.strip()]
    return [cid for cid, image in rows if image.startswith("agentrl/swe")]


@pytest.fixture(scope="session")
def swe_docker():
    info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, check=False)
    assert info.returncode == 0, f"no Docker engine answers ({info.stderr.strip()}); run `bash launch/setup_docker.sh`"
    assert images.image_exists(BASE_IMAGE), f"{BASE_IMAGE} is missing; run `bash launch/setup_docker.sh`"
    images.toolchain_image()
    yield
    deadline = time.monotonic() + 30  # a closed sandbox's removal may still be in flight on a loaded engine
    while our_containers() and time.monotonic() < deadline:
        time.sleep(1)
    left = our_containers()
    assert not left, f"containers left behind by the SWE tests: {[_describe(c) for c in left]}"


def _describe(container: str) -> str:
    out = subprocess.run(["docker", "inspect", container, "--format",
                          "{{.Config.Image}} {{.State.Status}} {{json .Config.Labels}}"], capture_output=True, text=True, check=False)
    return f"{container} {out.stdout.strip() or out.stderr.strip()}"


def toy_patches(tree: Path) -> tuple[str, str, str]:
    """(gold patch, half fix, test patch) for the toy repo at its base commit."""
    (tree / "calc.py").write_text(CALC_FIXED)
    gold = repo.diff_against_head(tree)
    (tree / "calc.py").write_text(CALC_BUGGY.replace("a - b", "a + b"))
    half = repo.diff_against_head(tree)
    (tree / "calc.py").write_text(CALC_BUGGY)
    (tree / "tests" / "test_hidden.py").write_text(TEST_HIDDEN)
    test_patch = repo.diff_against_head(tree)
    (tree / "tests" / "test_hidden.py").unlink()
    return gold, half, test_patch


@pytest.fixture(scope="session")
def toy(swe_docker):
    """(instance, half-fix patch): add() and neg() are broken; the hidden tests check both."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "repo"
        (tree / "tests").mkdir(parents=True)
        (tree / "calc.py").write_text(CALC_BUGGY)
        (tree / "tests" / "test_calc.py").write_text(TEST_CALC)
        base = repo.commit_tree(tree, "toy calc\n")
        gold, half, test_patch = toy_patches(tree)
        repo.recommit(tree, "toy calc\n", base)
        images.seed_image(tree, TOY_IMAGE)
    instance = SWEInstance(
        instance_id="test-toy", repo="agentrl/toy-calc", base_commit=base,
        problem_statement="calc.add subtracts and calc.neg does not negate.",
        FAIL_TO_PASS=("tests/test_hidden.py::test_add", "tests/test_hidden.py::test_neg"),
        PASS_TO_PASS=("tests/test_calc.py::test_mul",), test_patch=test_patch, patch=gold, image=TOY_IMAGE,
        test_cmd="PYTHONPATH=. python3 -m pytest -rA --tb=short -p no:cacheprovider tests")
    yield instance, half
    # Each session builds the toy image afresh; removing it leaves no dangling image behind.
    subprocess.run(["docker", "image", "rm", "-f", TOY_IMAGE], capture_output=True, check=False)
