"""The README's code blocks run verbatim."""

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_block_after(heading: str) -> str:
    section = README.read_text().split(heading, 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def run(code: str) -> str:
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_add_an_environment_example_runs_and_passes_check_env():
    code = python_block_after("## Add an environment")
    assert len(code.strip().splitlines()) <= 30
    out = run(code)
    assert "demo/Countdown-v0: 8 checks passed" in out


def test_use_it_example_runs():
    out = run(python_block_after("## Use it"))
    assert out.startswith("Status.OK {'player': 1.0}")


def test_readme_names_the_two_commands_and_ci_runs_the_test_command():
    text = README.read_text()
    assert "bash launch/quickstart.sh" in text and "bash launch/test.sh" in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert "bash launch/test.sh" in ci
