import json
import re

from agentrl.evaluation import EvalSpec, evaluate
from agentrl.evaluation.report import fmt, histogram_svg, render_html
from agentrl.evaluation.store import EPISODES, read_episodes

FLAKY_ENV = "test/FlakyGuess-v0"


def lookup(summary, keys):
    value = summary
    for k in keys:
        value = value[int(k)] if isinstance(value, list) else value[k]
    return value


def test_every_number_on_the_page_is_the_summary_number(tmp_path):
    summary = evaluate(EvalSpec(FLAKY_ENV, tasks="test", samples=2), tmp_path, progress=False)
    page = (tmp_path / "report.html").read_text()
    found = re.findall(r"<span data-metric='([^']+)'>([^<]+)</span>", page)
    paths = {tuple(json.loads(p.replace("&quot;", '"'))) for p, _ in found}
    assert ("overall", "success_rate") in paths and ("overall", "pass_at_k", "2", "value") in paths
    assert any(p[0] == "tasks" and p[-1] == "reward_mean" for p in paths)
    for path, shown in found:
        keys = json.loads(path.replace("&quot;", '"'))
        assert shown == fmt(lookup(summary, keys)), keys
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page
    md = (tmp_path / "report.md").read_text()
    assert f"| success rate | {fmt(summary['overall']['success_rate'])} |" in md
    assert json.loads((tmp_path / "summary.json").read_text()) == summary


def test_messages_are_escaped(tmp_path):
    evaluate(EvalSpec(FLAKY_ENV, tasks="test/:1"), tmp_path, progress=False)
    episodes = read_episodes(tmp_path / EPISODES)
    evil = episodes[0].replace(error="</details><script>alert(1)</script>")
    summary = json.loads((tmp_path / "summary.json").read_text())
    page = render_html(summary, [evil])
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def test_histogram_handles_edge_cases():
    assert "no scored episodes" in histogram_svg([])
    one_value = histogram_svg([1.0, 1.0, 1.0])
    assert one_value.count("<rect") == 1 and ">3<" in one_value
