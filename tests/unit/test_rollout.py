import asyncio

import agentrl
from agentrl.env import StepResult
from agentrl.errors import ContextOverflowError
from agentrl.policy_contract import ScriptedPolicy, assistant_turn
from agentrl.types import Status, Task
from agentrl.verifiers import Rubric

TASK = Task(id="t")


class Counter:
    """Single agent; ends after `n` steps; step reward = step number. Optional fault injection."""

    possible_agents = ("a",)

    def __init__(self, n=3, fail_at=None, slow=0.0):
        self.n, self.fail_at, self.slow, self.t = n, fail_at, slow, 0
        self.closed = False

    async def reset(self, task, seed):
        self.t = 0
        return {"a": f"start {seed}"}

    async def step(self, actions):
        self.t += 1
        await asyncio.sleep(self.slow)
        if self.t == self.fail_at:
            raise RuntimeError("simulator crashed")
        done = self.t >= self.n
        return StepResult({} if done else {"a": f"obs {self.t}"}, {"a": float(self.t)}, {"a": done})

    async def close(self):
        self.closed = True


async def test_single_agent_episode_records_turns_rewards_and_messages():
    env = Counter()
    ep = await agentrl.run_episode(env, ScriptedPolicy(replies=["x"]), TASK, seed=5)
    assert ep.status is Status.OK and env.closed
    assert [t.rewards["env"] for t in ep.turns] == [1.0, 2.0, 3.0]
    assert ep.reward == {"a": 6.0}
    assert ep.turns[0].messages == ({"role": "user", "content": "start 5"}, {"role": "assistant", "content": "x"})
    assert [t.context_messages for t in ep.turns] == [1, 3, 5]
    assert ep.metrics["turns"] == 3.0


async def test_max_turns_truncates():
    ep = await agentrl.run_episode(Counter(n=10), ScriptedPolicy(replies=["x"]), TASK, 0, max_turns=2)
    assert ep.status is Status.TRUNCATED and len(ep.turns) == 2 and ep.reward == {"a": 3.0}


async def test_env_crash_becomes_status_and_keeps_turns():
    env = Counter(fail_at=2)
    ep = await agentrl.run_episode(env, ScriptedPolicy(replies=["x"]), TASK, 0)
    assert ep.status is Status.ENV_ERROR and "simulator crashed" in ep.error
    assert len(ep.turns) == 2 and ep.reward == {} and env.closed


async def test_policy_failure_and_overflow_and_timeouts():
    def broken(agent, messages, rng):
        raise ValueError("engine died")

    ep = await agentrl.run_episode(Counter(), ScriptedPolicy(broken), TASK, 0)
    assert ep.status is Status.POLICY_ERROR and "engine died" in ep.error

    class Overflow:
        async def generate(self, agent, messages, previous=None):
            if previous is not None:
                raise ContextOverflowError("full")
            return assistant_turn(agent, messages, previous, "x")

    ep = await agentrl.run_episode(Counter(), Overflow(), TASK, 0)
    assert ep.status is Status.TRUNCATED and len(ep.turns) == 1

    class Slow:
        async def generate(self, agent, messages, previous=None):
            await asyncio.sleep(5)

    ep = await agentrl.run_episode(Counter(), Slow(), TASK, 0, turn_timeout=0.05)
    assert ep.status is Status.TIMEOUT and "turn time limit" in ep.error
    ep = await agentrl.run_episode(Counter(n=100, slow=0.02), ScriptedPolicy(replies=["x"]), TASK, 0,
                                   episode_timeout=0.1, max_turns=100)
    assert ep.status is Status.TIMEOUT and 0 < len(ep.turns) < 100


async def test_failures_never_take_down_siblings():
    envs = [Counter(), Counter(fail_at=1), Counter()]
    eps = await asyncio.gather(*(agentrl.run_episode(e, ScriptedPolicy(replies=["x"]), TASK, 0) for e in envs))
    assert [e.status for e in eps] == [Status.OK, Status.ENV_ERROR, Status.OK]


async def test_turn_taking_rewards_reach_the_agent_that_did_not_move():
    env = agentrl.make("classic/TicTacToe-v0")
    # player_1 takes the left column (cells 0, 1, 2); player_2 plays 3, 4.
    moves = {"player_1": iter(["0", "1", "2"]), "player_2": iter(["3", "4"])}
    policy = ScriptedPolicy(lambda agent, messages, rng: next(moves[agent]))
    ep = await agentrl.run_episode(env, policy, Task(id="ttt"), 0, agentrl.registry.rubric("classic/TicTacToe-v0"))
    assert ep.status is Status.OK and len(ep.turns) == 5
    env_return = {a: sum(t.rewards["env"] for t in ep.turns_of(a)) for a in ep.agents}
    assert env_return == {"player_1": 1.0, "player_2": -1.0}
    assert ep.outcome_rewards == {"player_1": {"win": 1.0}, "player_2": {"win": 0.0}}


async def test_seeded_episode_is_reproducible_and_multi_policy_map_is_honoured():
    def pick(agent, messages, rng):
        return str(rng.randint(0, 8))

    a = await agentrl.run_episode(agentrl.make("classic/TicTacToe-v0"),
                                  {"player_1": ScriptedPolicy(pick, seed=1), "player_2": ScriptedPolicy(pick, seed=2)},
                                  Task(id="x"), 7)
    b = await agentrl.run_episode(agentrl.make("classic/TicTacToe-v0"),
                                  {"player_1": ScriptedPolicy(pick, seed=1), "player_2": ScriptedPolicy(pick, seed=2)},
                                  Task(id="x"), 7)
    assert [t.text for t in a.turns] == [t.text for t in b.turns]
    assert any("Invalid action" in m["content"] for t in a.turns for m in t.messages[:-1])


async def test_rubric_runs_before_close_with_env_access():
    seen = {}

    def peek(env):
        seen["closed_when_scored"] = env.env.closed
        return 1.0

    env = Counter()
    ep = await agentrl.run_episode(env, ScriptedPolicy(replies=["x"]), TASK, 0, Rubric(outcome=[peek]))
    assert seen == {"closed_when_scored": False} and env.closed and ep.outcome_rewards["a"]["peek"] == 1.0


async def test_check_env_tells_the_scripted_policy_its_task():
    from agentrl.checker import check_env
    from agentrl.environments.tool_use import ToolEnv

    def noop() -> str:
        """Do nothing."""
        return "ok"

    seen = []

    def scripted(seed, task):
        seen.append(task.id)
        return ScriptedPolicy(replies=[f"answer for {task.id}"], seed=seed)

    tasks = [Task(id="first", prompt=["hi"]), Task(id="second", prompt=["hi"])]
    agentrl.register("tests/Told-v0", lambda: ToolEnv([noop]), tasks=lambda split: tasks, scripted_policy=scripted,
                     max_turns=2, override=True)
    report = await check_env("tests/Told-v0")
    assert {"first", "second"} <= set(seen)
    assert [ep.turns[0].text for ep in report.episodes[::2]] == ["answer for first", "answer for second"]
