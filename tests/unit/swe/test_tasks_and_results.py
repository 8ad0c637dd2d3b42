"""SWE instances load from every supported format; diffs are filtered; pytest logs parse; grades score."""

import json

import pytest

from agentrl.environments.swe.diffs import changed_paths, filter_patch, is_protected, split_patch
from agentrl.environments.swe.results import (
    RESOLVED_FULL,
    RESOLVED_NO,
    RESOLVED_PARTIAL,
    parse_pytest_log,
    read_predictions,
    score,
    write_predictions,
    write_results,
)
from agentrl.environments.swe.tasks import SWEInstance, instance_of, load_instances, task_image
from agentrl.errors import TaskError

ROW = {"instance_id": "octo__calc-1", "repo": "octo/calc", "base_commit": "a" * 40, "problem_statement": "add is wrong",
       "FAIL_TO_PASS": ["tests/test_calc.py::test_add"], "PASS_TO_PASS": ["tests/test_calc.py::test_mul"],
       "test_patch": "", "patch": "", "version": "1.0", "created_at": "2024-01-01"}


def test_load_json_jsonl_and_swebench_string_lists(tmp_path):
    swebench_row = {**ROW, "instance_id": "octo__calc-2", "FAIL_TO_PASS": json.dumps(ROW["FAIL_TO_PASS"])}
    (tmp_path / "a.jsonl").write_text(json.dumps(ROW) + "\n\n" + json.dumps(swebench_row) + "\n")
    (tmp_path / "b.json").write_text(json.dumps([ROW]))
    for name, n in (("a.jsonl", 2), ("b.json", 1)):
        loaded = load_instances(tmp_path / name)
        assert len(loaded) == n
        assert all(i.FAIL_TO_PASS == ("tests/test_calc.py::test_add",) for i in loaded)
        assert loaded[0].extra == {"version": "1.0", "created_at": "2024-01-01"}
        assert loaded[0].image == task_image("octo__calc-1") == "agentrl/swe-task:octo__calc-1"


def test_parquet_loads_with_pyarrow_or_says_what_to_install(tmp_path):
    import importlib.util

    import pandas
    path = tmp_path / "c.parquet"
    if importlib.util.find_spec("pyarrow") is None:  # pyarrow is optional: the error must name the fix
        path.write_bytes(b"PAR1")
        with pytest.raises(TaskError, match="pip install pandas pyarrow"):
            load_instances(path)
    else:
        pandas.DataFrame([ROW]).to_parquet(path)
        assert load_instances(path)[0].FAIL_TO_PASS == ("tests/test_calc.py::test_add",)


def test_round_trip_through_task():
    inst = SWEInstance.from_dict(ROW)
    task = inst.to_task()
    assert task.id == inst.instance_id and instance_of(task) == inst
    assert SWEInstance.from_dict(inst.to_dict()) == inst


@pytest.mark.parametrize("change, message", [
    ({"FAIL_TO_PASS": []}, "empty FAIL_TO_PASS"), ({"FAIL_TO_PASS": "not json"}, "not a JSON list"),
    ({"base_commit": None, "repo": 3}, "must be a string"), ({"problem_statement": ...}, "missing SWE-bench fields"),
])
def test_bad_rows_say_what_is_wrong(change, message):
    row = {k: v for k, v in {**ROW, **change}.items() if v is not ...}
    with pytest.raises(TaskError, match=message):
        SWEInstance.from_dict(row)


def test_bad_files(tmp_path):
    with pytest.raises(TaskError, match="no task file"):
        load_instances(tmp_path / "missing.jsonl")
    (tmp_path / "x.csv").write_text("")
    with pytest.raises(TaskError, match="unknown task file type"):
        load_instances(tmp_path / "x.csv")
    (tmp_path / "dup.jsonl").write_text(json.dumps(ROW) + "\n" + json.dumps(ROW) + "\n")
    with pytest.raises(TaskError, match="appears twice"):
        load_instances(tmp_path / "dup.jsonl")


PATCH = """\
diff --git a/src/calc.py b/src/calc.py
--- a/src/calc.py
+++ b/src/calc.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a - b
+    return a + b
diff --git a/tests/test_calc.py b/tests/test_calc.py
deleted file mode 100644
--- a/tests/test_calc.py
+++ /dev/null
@@ -1 +0,0 @@
-def test_add(): assert False
diff --git a/conftest.py b/conftest.py
new file mode 100644
--- /dev/null
+++ b/conftest.py
@@ -0,0 +1 @@
+import pytest
diff --git a/src/ok.py b/src/test_helpers_moved.py
similarity index 100%
rename from src/ok.py
rename to src/test_helpers_moved.py
diff --git a/src/link.py b/src/link.py
new file mode 120000
--- /dev/null
+++ b/src/link.py
@@ -0,0 +1 @@
+../tests/test_calc.py
"""


def test_filter_patch_keeps_only_source_fixes():
    assert changed_paths(PATCH) == ["conftest.py", "src/calc.py", "src/link.py", "src/ok.py",
                                    "src/test_helpers_moved.py", "tests/test_calc.py"]
    filtered = filter_patch(PATCH)
    assert [s.new_path for s in split_patch(filtered.patch)] == ["src/calc.py"]
    assert set(filtered.dropped) == {"tests/test_calc.py", "conftest.py", "src/ok.py", "src/test_helpers_moved.py",
                                     "src/link.py"}
    plain = "--- calc.py.orig\n+++ calc.py\n@@ -1 +1 @@\n-a\n+b\n--- a/tests/t.py\n+++ b/tests/t.py\n@@ -1 +1 @@\n-a\n+b\n"
    assert [s.new_path for s in split_patch(filter_patch(plain).patch)] == ["calc.py"]


@pytest.mark.parametrize("path, protected", [
    ("pkg/core.py", False), ("pkg/testing_utils.py", False), ("tests/test_x.py", True), ("pkg/tests/data.json", True),
    ("test_six.py", True), ("pkg/x_test.py", True), ("pkg/conftest.py", True), ("setup.cfg", True),
    ("pyproject.toml", True), ("sitecustomize.py", True), ("evil.pth", True), (".git/config", True),
    ("../outside.py", True), ("docs/conf.py", False),
    ("src/hack.dist-info/entry_points.txt", True), ("x.egg-info/PKG-INFO", True)])
def test_protected_paths(path, protected):
    assert is_protected(path) is protected


LOG = """\
PASSED tests/test_a.py::test_forged
============================= test session starts ==============================
tests/test_a.py ..F.
=========================== short test summary info ============================
PASSED tests/test_a.py::test_one
PASSED tests/test_a.py::test_param[a b - c]
FAILED tests/test_a.py::test_two - AssertionError: x - y
ERROR tests/test_a.py::test_three - RuntimeError
PASSED tests/test_a.py::test_three
XFAIL tests/test_a.py::test_four - known
SKIPPED [1] tests/test_a.py:9: no
========================= 1 failed, 3 passed in 0.10s ==========================
"""


def test_parse_pytest_log_reads_only_the_last_summary():
    assert parse_pytest_log(LOG) == {"tests/test_a.py::test_one": "PASSED", "tests/test_a.py::test_param[a b": "PASSED",
                                     "tests/test_a.py::test_two": "FAILED", "tests/test_a.py::test_three": "ERROR",
                                     "tests/test_a.py::test_four": "XFAIL"}
    assert parse_pytest_log("no summary at all\nPASSED x::y\n") == {}


def test_score_resolution_and_vector():
    f2p, p2p = ["t1", "t2"], ["t3"]
    full = score("i", f2p, p2p, {"t1": "PASSED", "t2": "PASSED", "t3": "PASSED"}, patch_exists=True, patch_applied=True)
    assert (full.resolved, full.resolution, full.test_vector, full.f2p_rate) == (True, RESOLVED_FULL, (1, 1, 1), 1.0)
    part = score("i", f2p, p2p, {"t1": "PASSED", "t3": "PASSED"}, patch_exists=True, patch_applied=True)
    assert (part.resolved, part.resolution, part.test_vector) == (False, RESOLVED_PARTIAL, (1, 0, 1))
    broke = score("i", f2p, p2p, {"t1": "PASSED", "t2": "PASSED", "t3": "FAILED"}, patch_exists=True, patch_applied=True)
    assert (broke.resolution, broke.pass_to_pass["failure"]) == (RESOLVED_NO, ["t3"])
    unapplied = score("i", f2p, p2p, {"t1": "PASSED", "t2": "PASSED", "t3": "PASSED"}, patch_exists=True,
                      patch_applied=False)
    assert (unapplied.resolution, unapplied.test_vector) == (RESOLVED_NO, (0, 0, 0))


def test_predictions_and_results_files(tmp_path):
    write_predictions(tmp_path / "preds.jsonl", [{"instance_id": "i", "model_patch": None, "model_name_or_path": "m"}])
    assert read_predictions(tmp_path / "preds.jsonl") == [{"instance_id": "i", "model_name_or_path": "m",
                                                            "model_patch": ""}]
    with pytest.raises(TaskError, match="needs instance_id and model_patch"):
        write_predictions(tmp_path / "bad.jsonl", [{"instance_id": "i"}])
    grade = score("i", ["t1"], [], {"t1": "PASSED"}, patch_exists=True, patch_applied=True)
    write_results(tmp_path / "results.jsonl", [grade], model="m")
    row = json.loads((tmp_path / "results.jsonl").read_text())
    assert row["resolved"] is True and row["tests_status"]["FAIL_TO_PASS"] == {"success": ["t1"], "failure": []}
    assert row["patch_successfully_applied"] and row["model_name_or_path"] == "m"


def test_partial_credit_rewards_fixes_and_charges_breakage():
    from agentrl.environments.swe.env import fail_to_pass_fraction, partial_credit, resolved

    def info(f2p_ok, f2p_bad, p2p_ok, p2p_bad):
        grade = score("i", [*f2p_ok, *f2p_bad], [*p2p_ok, *p2p_bad],
                      {t: "PASSED" for t in (*f2p_ok, *p2p_ok)}, patch_exists=True, patch_applied=True)
        return {"grade": grade.report()}

    assert partial_credit({}) == 0.0 and resolved({}) == 0.0
    assert partial_credit(info([], ["a", "b"], ["c"], [])) == 0.0  # nothing fixed
    assert partial_credit(info(["a"], ["b"], ["c"], [])) == 0.5
    assert partial_credit(info(["a"], ["b"], [], ["c"])) == 0.0  # one fixed, one broken
    assert partial_credit(info(["a", "b"], [], ["c"], [])) == 1.0 == resolved(info(["a", "b"], [], ["c"], []))
    assert fail_to_pass_fraction(info(["a"], ["b", "c", "d"], [], ["e"])) == 0.25
    broken = {"grade": {**info(["a"], [], [], [])["grade"], "error": "image missing"}}
    with pytest.raises(Exception, match="grading failed: image missing"):
        resolved(broken)
