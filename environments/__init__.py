"""Dynamics only: what the world does. Installed as ``agentrl.environments``.

Each env is one module plus one `register` line below. This function is announced through the
``agentrl.envs`` entry-point group (see pyproject.toml), exactly as a third-party env package would.
"""

from agentrl.registry import register

from agentrl.environments import traffic


def register_envs() -> None:
    register("games/Echo-v0", "agentrl.environments.echo:EchoEnv",
             tasks="agentrl.environments.echo:tasks", rubric="agentrl.environments.echo:rubric",
             scripted_policy="agentrl.environments.echo:echo_policy", max_turns=8,
             description="Repeat the digit shown, three turns in a row (the quickstart task).")
    register("games/GuessNumber-v0", "agentrl.environments.guess_number:GuessNumberEnv",
             tasks="agentrl.environments.guess_number:tasks", rubric="agentrl.environments.guess_number:rubric",
             scripted_policy="agentrl.environments.guess_number:bisect_policy", max_turns=8,
             description="Single agent guesses a hidden integer in [1, 16] from higher/lower feedback.")
    register("classic/TicTacToe-v0", "agentrl.environments.tictactoe:TicTacToeEnv",
             tasks="agentrl.environments.tictactoe:tasks", rubric="agentrl.environments.tictactoe:rubric",
             scripted_policy="agentrl.environments.tictactoe:random_legal_policy", max_turns=16,
             description="Two agents play PettingZoo's tic-tac-toe, turn by turn, from a text board.")
    traffic.register_envs()
