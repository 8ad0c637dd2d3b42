import subprocess
import sys

from agentrl.cli import main


def test_envs_lists_registered(capsys):
    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    assert "games/GuessNumber-v0" in out and "classic/TicTacToe-v0" in out


def test_check_unknown_env_is_a_clear_error(capsys):
    assert main(["check", "games/GuessNumbr-v0"]) == 1
    err = capsys.readouterr().err
    assert "Did you mean 'games/GuessNumber-v0'" in err


def test_check_passes_on_a_builtin(capsys):
    assert main(["check", "games/GuessNumber-v0", "--tasks", "1"]) == 0
    assert "checks passed" in capsys.readouterr().out


def test_every_command_has_help():
    for args in (["--help"], ["envs", "--help"], ["check", "--help"]):
        r = subprocess.run([sys.executable, "-m", "agentrl.cli", *args], capture_output=True, text=True, check=False)
        assert r.returncode == 0 and "usage: agentrl" in r.stdout
