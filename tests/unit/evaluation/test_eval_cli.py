import json
import subprocess
import sys

import pytest

from agentrl.evaluation.cli import main


def test_eval_compare_and_rescore_from_the_command_line(tmp_path, capsys):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    args = ["eval", "--env", "games/GuessNumber-v0", "--tasks", "test/:3", "--samples", "2", "--no-progress"]
    assert main([*args, "--out", a]) == 0
    out = capsys.readouterr().out
    assert "6/6 episodes, 0 failed; success=1.0000" in out and "pass@2=1.0000" in out
    assert main([*args, "--out", b, "--max-turns", "2"]) == 0
    summary_b = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary_b["overall"]["truncated"] > 0  # two guesses rarely find the number
    capsys.readouterr()
    assert main(["eval", "compare", a, b, "--out", str(tmp_path / "cmp")]) == 0
    md = capsys.readouterr().out
    assert "| success_rate | 3 | 1.0000 |" in md and (tmp_path / "cmp" / "compare.json").exists()
    assert main(["rescore", a]) == 0
    assert (tmp_path / "a" / "rescored" / "report.html").exists()
    assert main(["rescore", a, "--live", "--concurrency", "3", "--out", str(tmp_path / "live")]) == 0
    assert json.loads((tmp_path / "live" / "rescore.json").read_text())["live"] is True


def test_clear_errors(tmp_path, capsys):
    assert main(["eval", "--out", str(tmp_path)]) == 1
    assert "needs --env" in capsys.readouterr().err
    assert main(["eval", "--env", "games/GuessNumbr-v0", "--out", str(tmp_path)]) == 1
    assert "Did you mean 'games/GuessNumber-v0'" in capsys.readouterr().err
    assert main(["eval", "--env", "games/Echo-v0"]) == 1
    assert "needs --out" in capsys.readouterr().err
    assert main(["eval", "--env", "games/Echo-v0", "--out", str(tmp_path), "--ray-address", "127.0.0.1:6379"]) == 1
    assert "--ray-address needs --executor ray" in capsys.readouterr().err
    assert main(["eval", "--env", "games/Echo-v0", "--out", str(tmp_path), "--executor", "ray",
                 "--ray-actors", "0"]) == 1
    assert "--ray-actors must be >= 1" in capsys.readouterr().err


def test_help(capsys):
    r = subprocess.run([sys.executable, "-m", "agentrl.evaluation.cli", "eval", "--help"], capture_output=True, text=True, check=False)
    assert r.returncode == 0 and "usage: agentrl eval" in r.stdout, r.stderr
    for args in (["eval", "compare", "--help"], ["rescore", "--help"]):
        with pytest.raises(SystemExit) as exit:
            main(args)
        assert exit.value.code == 0 and f"usage: agentrl {' '.join(args[:-1])}" in capsys.readouterr().out
