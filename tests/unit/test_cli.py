import importlib.metadata
import subprocess
import sys

from agentrl import cli
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


def test_swe_commands_come_through_the_cli_entry_point_group():
    entries = {ep.name: ep.value for ep in importlib.metadata.entry_points(group=cli.ENTRY_POINT_GROUP)}
    assert entries.get("swe") == "agentrl.environments.swe.cli:add_cli"
    args = cli.build_parser().parse_args(["swe", "grade", "--predictions", "preds.jsonl", "--out", "results.jsonl"])
    assert args.swe_command == "grade" and args.predictions == "preds.jsonl"
    assert args.func.__module__ == "agentrl.environments.swe.cli"


def test_a_broken_cli_plugin_is_reported_and_the_core_commands_still_work(monkeypatch, capsys):
    broken = importlib.metadata.EntryPoint("broken", "no_such_module_xyz:add_cli", cli.ENTRY_POINT_GROUP)
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [broken])
    parser = cli.build_parser()
    err = capsys.readouterr().err
    assert "plugin 'broken' (no_such_module_xyz:add_cli)" in err and "ModuleNotFoundError" in err
    assert parser.parse_args(["envs"]).func is cli._cmd_envs
