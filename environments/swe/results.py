"""Per-test results from pytest output, the grade of one submission, and SWE-bench's JSONL files.

`parse_pytest_log` reads the ``-rA`` short summary (``PASSED tests/x.py::test_y`` lines), the same
source SWE-bench's pytest parser reads, so logs and test ids are interchangeable with SWE-bench's.
Only the last summary section counts: text printed earlier (by the code under test) cannot add results.

Resolution follows SWE-bench: FULL when every FAIL_TO_PASS and every PASS_TO_PASS test passes,
PARTIAL when some but not all FAIL_TO_PASS pass and every PASS_TO_PASS passes, NO otherwise.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from agentrl.errors import TaskError

STATUSES = ("PASSED", "FAILED", "ERROR", "SKIPPED", "XFAIL", "XPASS")
PASSING = frozenset({"PASSED", "XFAIL"})  # an expected failure that still fails is a pass, as in SWE-bench
_SUMMARY = re.compile(r"^=+ short test summary info =+$", re.MULTILINE)
_LINE = re.compile(r"^(PASSED|FAILED|ERROR|XFAIL|XPASS) (\S.*?)(?: - .*)?$")
RESOLVED_FULL, RESOLVED_PARTIAL, RESOLVED_NO = "RESOLVED_FULL", "RESOLVED_PARTIAL", "RESOLVED_NO"


def parse_pytest_log(log: str) -> dict[str, str]:
    """{test id: status} from the last ``short test summary info`` section of a ``pytest -rA`` log."""
    starts = [m.end() for m in _SUMMARY.finditer(log)]
    if not starts:
        return {}
    results: dict[str, str] = {}
    for line in log[starts[-1]:].splitlines():
        match = _LINE.match(line.rstrip())
        if match:
            status, test = match.groups()
            # A test reported twice (error in teardown after a pass) keeps its worst status.
            if results.get(test) not in ("FAILED", "ERROR"):
                results[test] = status
    return results


def passes(status: str | None) -> bool:
    return status in PASSING


@dataclasses.dataclass(frozen=True)
class GradeResult:
    """The grade of one submitted patch on one instance.

    `test_vector` holds 1/0 per test, FAIL_TO_PASS first then PASS_TO_PASS, in the instance's order: the
    per-test signal for partial-credit rewards. `error` is set when grading itself could not run (the
    instance's image or test patch is broken); such a grade must not be read as a 0 for the model.
    """

    instance_id: str
    resolved: bool
    resolution: str
    patch_exists: bool
    patch_applied: bool
    fail_to_pass: Mapping[str, Sequence[str]]  # {"success": [...], "failure": [...]}
    pass_to_pass: Mapping[str, Sequence[str]]
    test_vector: tuple[int, ...]
    dropped_paths: tuple[str, ...] = ()
    flagged: tuple[str, ...] = ()  # why the patch was taken for an attack on the harness (diffs.tampering)
    apply_output: str = ""
    log: str = ""
    error: str | None = None
    seconds: float = 0.0

    @property
    def f2p_rate(self) -> float:
        n = len(self.fail_to_pass["success"]) + len(self.fail_to_pass["failure"])
        return len(self.fail_to_pass["success"]) / n if n else 0.0

    @property
    def pass_rate(self) -> float:
        return sum(self.test_vector) / len(self.test_vector) if self.test_vector else 0.0

    def report(self, model: str = "") -> dict[str, Any]:
        """One line of the results file: SWE-bench's per-instance report fields plus ours."""
        return {"instance_id": self.instance_id, "model_name_or_path": model, "resolved": self.resolved,
                "resolution": self.resolution, "patch_is_None": not self.patch_exists,
                "patch_exists": self.patch_exists, "patch_successfully_applied": self.patch_applied,
                "tests_status": {"FAIL_TO_PASS": dict(self.fail_to_pass), "PASS_TO_PASS": dict(self.pass_to_pass)},
                "test_vector": list(self.test_vector), "dropped_paths": list(self.dropped_paths),
                "flagged": list(self.flagged),
                "error": self.error, "seconds": round(self.seconds, 3)}


def score(instance_id: str, f2p: Sequence[str], p2p: Sequence[str], results: Mapping[str, str], *,
          patch_exists: bool, patch_applied: bool, **extra: Any) -> GradeResult:
    """Resolution and test vector from parsed results; a patch that did not apply resolves nothing."""
    def split(tests: Sequence[str]) -> dict[str, list[str]]:
        ok = [t for t in tests if patch_applied and passes(results.get(t))]
        return {"success": ok, "failure": [t for t in tests if t not in set(ok)]}

    f, p = split(f2p), split(p2p)
    vector = tuple(int(patch_applied and passes(results.get(t))) for t in (*f2p, *p2p))
    p2p_ok = not p["failure"]
    if f2p and not f["failure"] and p2p_ok:
        resolution = RESOLVED_FULL
    elif f["success"] and p2p_ok:
        resolution = RESOLVED_PARTIAL
    else:
        resolution = RESOLVED_NO
    return GradeResult(instance_id, resolution == RESOLVED_FULL, resolution, patch_exists, patch_applied, f, p,
                       vector, **extra)


# --- SWE-bench files ------------------------------------------------------------------------------------------
def write_predictions(path: str | Path, predictions: Iterable[Mapping[str, str]]) -> int:
    """SWE-bench predictions JSONL: one {"instance_id", "model_name_or_path", "model_patch"} per line."""
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for p in predictions:
            missing = {"instance_id", "model_patch"} - set(p)
            if missing:
                raise TaskError(f"a prediction needs instance_id and model_patch; missing {sorted(missing)}.")
            row = {"instance_id": p["instance_id"], "model_name_or_path": p.get("model_name_or_path", ""),
                   "model_patch": p["model_patch"] or ""}
            f.write(json.dumps(row) + "\n")
            n += 1
    return n


def read_predictions(path: str | Path) -> list[dict[str, str]]:
    """Predictions from SWE-bench JSONL (or a JSON list / {instance_id: prediction} dict)."""
    text = Path(path).read_text(encoding="utf-8")
    if Path(path).suffix == ".json":
        data = json.loads(text)
        rows = list(data.values()) if isinstance(data, dict) else data
    else:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "instance_id" not in row or "model_patch" not in row:
            raise TaskError(f"{path}[{i}]: a prediction needs instance_id and model_patch, got {str(row)[:200]}")
        row["model_patch"] = row["model_patch"] or ""
    return rows


def write_results(path: str | Path, grades: Iterable[GradeResult], model: str = "") -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for g in grades:
            f.write(json.dumps(g.report(model)) + "\n")
            n += 1
    return n
