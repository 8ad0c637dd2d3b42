"""Mutation operators make one-spot, parseable changes; builder helpers detect tests and write statements."""

import ast
import difflib

from agentrl.environments.swe.build import PackageSpec, detect_test_cmd, first_failure, problem_statement, source_files
from agentrl.environments.swe.mutate import OPERATORS, mutants

SOURCE = '''\
def window(items, size):
    """Slices of `size` items."""
    if size <= 0:
        raise ValueError("size must be positive")
    if not items:
        return []
    out = []
    for start in range(0, len(items) - size + 1):
        out.append(items[start:start + size])
    return out


def pick(mapping, key, default=None):
    return mapping[key] if key in mapping else default


def shout(text, mark):
    return "{}{}".format(text.upper(), mark)
'''


def changed_lines(a, b):
    return [l for l in difflib.unified_diff(a.splitlines(), b.splitlines(), n=0, lineterm="")
            if l[:1] in "+-" and not l.startswith(("+++", "---"))]


def test_every_operator_makes_one_spot_parseable_changes():
    made = list(mutants(SOURCE))
    assert {m.operator for m in made} == set(OPERATORS)
    for m in made:
        ast.parse(m.source)
        assert m.source != SOURCE
        lines = changed_lines(SOURCE, m.source)
        if m.operator == "drop_branch":
            assert all(l.startswith("-") for l in lines) and lines[0].lstrip("-").lstrip().startswith("if ")
        else:
            assert len(lines) == 2, (m, lines)
    described = {m.description for m in made}
    assert "`<=` became `<`" in described and "`in` became `not in`" in described
    assert "arguments `text.upper()` and `mark` swapped" in described
    assert any(d.startswith(("`1` became", "`0` became")) for d in described)


def test_detect_tests_and_sources(tmp_path):
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "core.py").write_text("x = 1\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_core.py").write_text("")
    (tmp_path / "setup.py").write_text("")
    assert detect_test_cmd(tmp_path).startswith("PYTHONPATH=src python3 -m pytest -rA")
    assert detect_test_cmd(tmp_path).endswith(" tests")
    assert source_files(tmp_path) == ["src/pkg/core.py"]
    assert PackageSpec.parse("toolz==1.0.0") == PackageSpec("toolz", "1.0.0")


def test_problem_statement_lists_tests_and_the_first_failure():
    log = ("=================================== FAILURES ===================================\n"
           "_________________________________ TestX.test_a _________________________________\n"
           "t.py:3: in test_a\n    assert f() == 2\nE   assert 1 == 2\n"
           "_________________________________ test_b _________________________________\n"
           "t.py:9: in test_b\nE   boom\n"
           "=========================== short test summary info ============================\n")
    assert first_failure(log, "t.py::TestX::test_a").endswith("E   assert 1 == 2")
    text = problem_statement("pkg", [f"t.py::test_{i}" for i in range(12)] + ["t.py::TestX::test_a"], log)
    assert "- t.py::test_0" in text and "... and 3 more" in text
    assert "E   assert 1 == 2" not in text  # the first listed test has no section in this log
    text = problem_statement("pkg", ["t.py::test_b"], log)
    assert "E   boom" in text and "no other test breaks" in text
