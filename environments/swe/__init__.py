"""Software-engineering tasks in Docker, graded like SWE-bench. Installed as ``agentrl.environments.swe``.

- tasks.py: SWE-bench instances (JSON / JSONL / parquet) and the shipped set in data/.
- grader.py: apply a patch in a fresh sandbox, drop test-file edits, apply the hidden test patch, run and
  parse the tests; results.py: per-test results, resolution, SWE-bench predictions/results files.
- env.py: the multi-turn env (shell, file edits, submit), its rubric and scripted policies.
- build.py: `agentrl swe build-tasks`: real bugs by AST mutation of PyPI sdists; images.py: offline images.
"""

from agentrl.environments.swe.results import GradeResult, parse_pytest_log
from agentrl.environments.swe.tasks import SWEInstance, load_instances, shipped_instances

__all__ = ["GradeResult", "SWEInstance", "load_instances", "parse_pytest_log", "shipped_instances"]
