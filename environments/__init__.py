"""Dynamics only: what the world does. Installed as ``agentrl.environments``.

Each env is one module plus one `register` line below. This function is announced through the
``agentrl.envs`` entry-point group (see pyproject.toml), exactly as a third-party env package would.
"""

from agentrl.environments import traffic, web
from agentrl.registry import register


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
    register("tools/Calculator-v0", "agentrl.environments.tool_use.calculator:make_env",
             tasks="agentrl.environments.tool_use.calculator:tasks",
             rubric="agentrl.environments.tool_use.calculator:rubric",
             scripted_policy="agentrl.environments.tool_use.calculator:solver_policy", max_turns=8,
             description="Arithmetic with typed tools and a memory register; final state and answer verified.")
    for domain in ("airline", "retail", "telecom"):
        register(f"tau2/{domain.capitalize()}-v0", "agentrl.environments.tool_use.tau2:Tau2Env",
                 kwargs={"domain": domain}, tasks=f"agentrl.environments.tool_use.tau2:{domain}_tasks",
                 rubric="agentrl.environments.tool_use.tau2:rubric",
                 scripted_policy="agentrl.environments.tool_use.tau2:probe_policy", max_turns=200,
                 description=f"tau2-bench {domain}: assistant with tau2's tools, simulated user, tau2's evaluator.")
    for category, name in (("base", "Base"), ("miss_func", "MissFunc"), ("miss_param", "MissParam"),
                           ("long_context", "LongContext")):
        register(f"bfcl/MultiTurn{name}-v0", "agentrl.environments.tool_use.bfcl:make_env",
                 kwargs={"category": category}, tasks=f"agentrl.environments.tool_use.bfcl:{category}_tasks",
                 rubric="agentrl.environments.tool_use.bfcl:rubric",
                 scripted_policy="agentrl.environments.tool_use.bfcl_replay:gold_policy", max_turns=200,
                 description=f"BFCL v4 multi-turn {category}: BFCL's backends as tools, its checker as verdict.")
    register("swe/LocalPy-v0", "agentrl.environments.swe.env:SWEEnv",
             tasks="agentrl.environments.swe.tasks:tasks", rubric="agentrl.environments.swe.env:rubric",
             scripted_policy="agentrl.environments.swe.env:gold_patch_policy", max_turns=32,
             description="Fix an injected bug in a real PyPI package inside a Docker sandbox; graded like SWE-bench.")
    traffic.register_envs()
    web.register_envs()
