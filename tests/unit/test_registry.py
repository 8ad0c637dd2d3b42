import pytest

import agentrl
from agentrl import registry
from agentrl.errors import RegistrationError, UnknownEnvError


def test_builtin_envs_come_from_the_entry_point_group():
    ids = set(registry.registered())
    assert {"games/GuessNumber-v0", "classic/TicTacToe-v0"} <= ids


def test_unknown_id_suggests_the_closest():
    with pytest.raises(UnknownEnvError) as e:
        agentrl.make("games/GuesNumber-v0")
    assert "Did you mean 'games/GuessNumber-v0'" in str(e.value)
    assert "classic/TicTacToe-v0" in str(e.value)


@pytest.mark.parametrize("bad_id", ["GuessNumber", "games/Guess", "games/Guess-v", "a b/C-v0"])
def test_ids_must_be_versioned(bad_id):
    with pytest.raises(RegistrationError, match="family/Name-vN"):
        registry.register(bad_id, "x:y")


def test_duplicate_registration_needs_a_version_bump_or_override():
    registry.register("test/Dup-v0", "agentrl.environments.guess_number:GuessNumberEnv")
    with pytest.raises(RegistrationError, match="already registered"):
        registry.register("test/Dup-v0", "agentrl.environments.tictactoe:TicTacToeEnv")
    registry.register("test/Dup-v0", "agentrl.environments.tictactoe:TicTacToeEnv", override=True)


def test_unloadable_entry_point_is_explained():
    registry.register("test/Missing-v0", "no_such_module_xyz:Env", override=True)
    with pytest.raises(RegistrationError, match="cannot import 'no_such_module_xyz'"):
        agentrl.make("test/Missing-v0")


def test_make_passes_kwargs_and_wraps_in_guard():
    env = agentrl.make("games/GuessNumber-v0", low=3, high=5)
    assert isinstance(env, agentrl.ContractGuard)
    assert (env.env.low, env.env.high) == (3, 5)
    assert registry.spec("games/GuessNumber-v0").version == 0


def test_a_user_registration_before_first_lookup_does_not_clash_with_builtins():
    import subprocess
    import sys

    code = ("import agentrl\n"
            "agentrl.register('games/Echo-v0', 'agentrl.environments.echo:EchoEnv', override=True, max_turns=2)\n"
            "print(agentrl.spec('games/Echo-v0').max_turns, len(agentrl.registered()) > 3)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["2", "True"]
