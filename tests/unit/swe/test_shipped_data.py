"""The shipped task set: big enough, small on disk, well-formed, and free of answers in what the agent sees."""

import collections

from agentrl.environments.swe.diffs import changed_paths, is_protected
from agentrl.environments.swe.tasks import SHIPPED, shipped_instances, tasks


def test_shipped_set_shape():
    instances = shipped_instances()
    packages = collections.Counter(i.repo for i in instances)
    assert len(instances) >= 30 and len(packages) >= 3 and min(packages.values()) >= 5
    assert SHIPPED.stat().st_size < 300 * 1024
    assert len({i.extra["mutation"]["operator"] for i in instances}) >= 3
    for inst in instances:
        assert inst.patch and inst.FAIL_TO_PASS and inst.test_patch == ""
        assert not set(inst.FAIL_TO_PASS) & set(inst.PASS_TO_PASS)
        assert len(inst.base_commit) == 40 and inst.extra["source"]["kind"] == "pypi-sdist"
        assert changed_paths(inst.patch) == [inst.extra["mutation"]["file"]]
        assert not is_protected(inst.extra["mutation"]["file"])
        assert inst.FAIL_TO_PASS[0] in inst.problem_statement
        files = sorted({t.split("::")[0] for t in inst.FAIL_TO_PASS})  # scoped to the failing tests' files
        assert inst.test_cmd.endswith(" ".join(files)) and inst.extra["scope"] == "files"
        assert all(t.split("::")[0] in files for t in inst.PASS_TO_PASS)
        removed = [l[1:] for l in inst.patch.splitlines() if l.startswith("+") and not l.startswith("+++")]
        assert all(line.strip() not in inst.problem_statement for line in removed if len(line.strip()) > 12)
    assert sum(bool(i.PASS_TO_PASS) for i in instances) >= 25  # scoping may leave a lone failing file
    assert [t.id for t in tasks("test")] == [i.instance_id for i in instances]
