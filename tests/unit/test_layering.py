"""The core (`agentrl/`) never imports an env family or the verifiers: they plug in through entry points."""

import ast
import re
from pathlib import Path

import agentrl

CORE = Path(agentrl.__file__).parent
OUTER = ("agentrl.environments", "agentrl.verifiers")
# A string that is nothing but a module path or entry point ("pkg.mod" or "pkg.mod:attr") into the outer
# packages is an import in disguise (importlib.import_module, registry entry points); prose that merely
# mentions them, such as an error message, is not.
MODULE_STRING = re.compile(r"^agentrl\.(environments|verifiers)(\.\w+)*(:\w+)?$")


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _outer_references(path: Path) -> list[str]:
    """``line: module`` for every import of, or module-path string naming, an outer package in `path`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from agentrl import verifiers` names agentrl.verifiers
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            names = [node.value] if MODULE_STRING.match(node.value) else []
        else:
            continue
        found += [f"{node.lineno}: {n}" for n in names if any(n == o or n.startswith((o + ".", o + ":")) for o in OUTER)]
    return found


def test_the_core_imports_no_env_family_and_no_verifier():
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 20, f"expected the core's sources under {CORE}"
    found = [f"{f.relative_to(CORE.parent)}:{ref}" for f in files for ref in _outer_references(f)]
    assert not found, "the core must not import agentrl.environments or agentrl.verifiers:\n" + "\n".join(found)


def test_the_scan_catches_imports_and_module_strings_but_not_prose(tmp_path):
    src = tmp_path / "mod.py"
    src.write_text('"""Mentions agentrl.verifiers in a docstring only."""\n'
                   "import agentrl.environments.echo\n"
                   "from agentrl import verifiers\n"
                   "from agentrl.verifiers.combine import Sum\n"
                   'NAME = "agentrl.environments.swe.cli"\n'
                   'MSG = "return an agentrl.verifiers.Rubric."\n'
                   "from agentrl import rubric\n")
    lines = sorted({int(ref.split(":")[0]) for ref in _outer_references(src)})
    assert lines == [2, 3, 4, 5]
