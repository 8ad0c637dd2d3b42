"""The patch filter reads quoted paths as git apply does, and the tampering tripwire spares real fixes."""

import pytest

from agentrl.environments.swe.diffs import filter_patch, split_patch, tampering
from agentrl.environments.swe.tasks import shipped_instances


def _new_file(header_old: str, header_new: str, plus: str) -> str:
    return (f"diff --git {header_old} {header_new}\nnew file mode 100644\n--- /dev/null\n+++ {plus}\n"
            "@@ -0,0 +1 @@\n+x = 1\n")


@pytest.mark.parametrize("patch", [
    _new_file('"a/conftest.py"', '"b/conftest.py"', '"b/conftest.py"'),
    _new_file('"a/pkg/\\303\\251/conftest.py"', '"b/pkg/\\303\\251/conftest.py"', '"b/pkg/\\303\\251/conftest.py"'),
    _new_file('"a/h\\303\\251.pth"', '"b/h\\303\\251.pth"', '"b/h\\303\\251.pth"'),
    _new_file("a/conftest.py", "b/conftest.py", '"b/conftest.py"'),
])
def test_quoted_protected_paths_are_dropped(patch):
    filtered = filter_patch(patch)
    assert filtered.patch == "" and filtered.dropped


def test_quoted_ordinary_paths_are_kept_and_decoded():
    patch = _new_file('"a/caf\\303\\251.py"', '"b/caf\\303\\251.py"', '"b/caf\\303\\251.py"')
    assert split_patch(patch)[0].paths == ("café.py",)
    assert filter_patch(patch).patch == patch


@pytest.mark.parametrize("line", ["import _pytest.reports", "atexit.register(lambda: None)", "os._exit(0)",
                                  "__import__('_pyt' + 'est')", "print('PASSED tests/x.py::t')",
                                  "open('/tmp/agentrl_test_output.log', 'a')", "os.write(1, b'x')"])
def test_tampering_flags_harness_reaching_code(line):
    patch = f"diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1 +1,2 @@\n x = 1\n+{line}\n"
    assert tampering(patch)


def test_tampering_ignores_removed_and_context_lines_and_every_gold_patch():
    patch = "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,1 @@\n import atexit\n-import pytest\n"
    assert tampering(patch) == ()
    assert [i.instance_id for i in shipped_instances() if tampering(i.patch)] == []
