"""Every example of docs/tool_use.md's "Building a ToolEnv" section runs verbatim and prints what it says."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "tool_use.md"
SECTION = DOC.read_text().split("## Building a ToolEnv", 1)[1].split("\n## ", 1)[0]
BLOCKS = re.findall(r"```python\n(.*?)```", SECTION, re.DOTALL)


def expected_output(code: str) -> list[str]:
    """The printed lines the block promises: `# value` after a print, or `# line` comments after the last one."""
    promised = [m.group(1) for m in re.finditer(r"print\(.*\)\s+# (.*)$", code, re.MULTILINE)]
    trailing = re.findall(r"^# (.*)$", code.rsplit("asyncio.run(main())", 1)[-1], re.MULTILINE)
    return promised + trailing


def test_the_section_has_every_topic():
    for topic in ("From functions, methods and JSON documents", "Several user turns", "Tool sets that change",
                  "Argument validation", "Rendering results", "Per-user-turn rewards"):
        assert f"### {topic}" in SECTION
    assert len(BLOCKS) == 6


@pytest.mark.parametrize("index", range(6))
def test_example_runs_verbatim(index, capsys):
    code = BLOCKS[index]
    # running the documented code verbatim is the point of this test
    exec(compile(code, f"docs/tool_use.md block {index}", "exec"), {"__name__": f"doc_block_{index}"})  # noqa: S102
    printed = capsys.readouterr().out.splitlines()
    want = expected_output(code)
    assert want, "every example says what it prints"
    assert printed == want
