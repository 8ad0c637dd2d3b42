import pytest

from agentrl.config import load_config
from agentrl.errors import ConfigError, UnknownKeyError
from agentrl.train import TrainConfig, _episode_metrics, _tasks_for_step
from agentrl.types import Episode, Status, Task

QUICKSTART = "launch/configs/quickstart.yaml"


def test_quickstart_config_loads_with_overrides():
    cfg = load_config(TrainConfig, QUICKSTART, ["run.steps=7", "algorithm.advantage=rloo"])
    assert cfg.env.id == "games/Echo-v0" and cfg.run.steps == 7 and cfg.algorithm.advantage == "rloo"


def test_unknown_keys_are_rejected_with_the_valid_list():
    with pytest.raises(UnknownKeyError, match="group_size"):
        load_config(TrainConfig, QUICKSTART, ["rollout.groupsize=4"])
    with pytest.raises(UnknownKeyError, match="algorithm, env, learner, model, policies, rollout, run"):
        load_config(TrainConfig, None, ["optimizer.lr=1"])


def test_task_order_is_seeded_and_covers_each_epoch():
    cfg = load_config(TrainConfig, None, ["rollout.tasks_per_step=4"])
    tasks = [Task(id=str(i)) for i in range(10)]
    epoch = [t.id for s in range(2) for t in _tasks_for_step(tasks, cfg, s)]
    assert len(set(epoch)) == 8  # no repeats within an epoch
    assert [t.id for t in _tasks_for_step(tasks, cfg, 5)] == [t.id for t in _tasks_for_step(tasks, cfg, 5)]
    with pytest.raises(ConfigError, match="only 10"):
        _tasks_for_step(tasks, load_config(TrainConfig, None, ["rollout.tasks_per_step=11"]), 0)


def test_failed_episodes_are_counted_not_scored():
    task = Task(id="t")
    eps = [Episode(task=task, env_id="x/Y-v0", seed=0, reward={"a": 1.0}, outcome_rewards={"a": {"success": 1.0}}),
           Episode(task=task, env_id="x/Y-v0", seed=0, status=Status.ENV_ERROR)]
    m = _episode_metrics(eps, "success")
    assert m["rollout/reward"] == 1.0 and m["rollout/success"] == 1.0
    assert m["rollout/failed"] == 1.0 and m["rollout/status_env_error"] == 1.0


def test_policy_map_defaults_to_one_shared_policy_and_validates_coverage():
    from agentrl.train import policy_map

    agents = ("agent_0", "agent_1")
    assert policy_map(load_config(TrainConfig, None, []), agents)[0].agents == agents
    cfg = load_config(TrainConfig, None, ["policies=[{name: a, agents: [agent_0]}, {name: b, agents: [agent_1]}]"])
    assert [p.name for p in policy_map(cfg, agents)] == ["a", "b"]
    with pytest.raises(ConfigError, match=r"agents \['agent_1'\] .* are in no policy"):
        policy_map(load_config(TrainConfig, None, ["policies=[{name: a, agents: [agent_0]}]"]), agents)
    with pytest.raises(ConfigError, match="in policies 'a' and 'b'"):
        policy_map(load_config(TrainConfig, None, [("policies=[{name: a, agents: [agent_0]}, "
                                                   "{name: b, agents: [agent_0, agent_1]}]")]), agents)
    with pytest.raises(ConfigError, match="has agents"):
        policy_map(load_config(TrainConfig, None, ["policies=[{name: a, agents: [car]}]"]), agents)


@pytest.mark.parametrize("name", ["grpo", "drgrpo", "rloo", "reinforce++", "reinforce++_baseline", "gae", "gigpo",
                                  "turn_returns", "gra", "gdpo", "tournament"])
def test_every_estimator_builds_a_learner_config_from_the_cli(name):
    extra = {"tournament": ["algorithm.compare=agentrl.environments.echo:compare_rewards"],
             "gae": ["learner.value_head=true"]}.get(name, [])
    cfg = load_config(TrainConfig, QUICKSTART, [f"algorithm.advantage={name}", *extra])
    adv = cfg.algorithm.advantage_config({"env": 1.0})
    assert adv.estimator == name and cfg.algorithm.loss_config().clip_low == 0.2


async def test_dynamic_sampling_drops_constant_groups_and_refills_within_budget():
    """Scripted policies stand in for the engine: the echo solver makes every group constant (all correct)."""
    from agentrl import registry
    from agentrl.policy_contract import ScriptedPolicy
    from agentrl.train import _sample_batch

    cfg = load_config(TrainConfig, QUICKSTART, ["rollout.tasks_per_step=2", "rollout.group_size=3",
                                                "rollout.dynamic_sampling=true", "rollout.max_sampling_rounds=3"])
    tasks = registry.tasks("games/Echo-v0")[:20]
    rubric = registry.rubric("games/Echo-v0")
    solver = registry.scripted_policy("games/Echo-v0")
    generated, train_on, m = await _sample_batch(tasks, tasks[:2], cfg, 8, rubric, solver, step=0)
    assert len(generated) == 3 * 2 * 3 and train_on == []  # 3 rounds of 2 groups x 3 samples, all constant
    assert m == {"rollout/sampling_rounds": 3.0, "rollout/dropped_groups": 6.0, "rollout/kept_groups": 0.0}
    assert len({e.group_id for e in generated}) == 6  # refill rounds get their own group ids

    coin = ScriptedPolicy(lambda agent, messages, rng: rng.choice([messages[-1]["content"].split()[-1], "x"]), seed=1)
    generated, train_on, m = await _sample_batch(tasks, tasks[:2], cfg, 8, rubric, coin, step=0)
    assert m["rollout/kept_groups"] == 2.0 and {e.group_id for e in train_on} <= {e.group_id for e in generated}


async def test_overlong_shaping_adds_a_weighted_turn_term():
    from agentrl import registry
    from agentrl.train import _sample_batch

    cfg = load_config(TrainConfig, QUICKSTART, ["rollout.tasks_per_step=1", "rollout.group_size=1",
                                                "algorithm.overlong_max_tokens=4", "algorithm.overlong_cache_tokens=2"])
    tasks = registry.tasks("games/Echo-v0")[:1]
    _, train_on, _ = await _sample_batch(tasks, tasks, cfg, 8, registry.rubric("games/Echo-v0"),
                                         registry.scripted_policy("games/Echo-v0"), step=0)
    assert all(t.rewards["overlong"] == 0.0 for t in train_on[0].turns)  # scripted turns have no tokens
    assert cfg.algorithm.advantage_config({"env": 1.0}).weights == {"env": 1.0, "overlong": 1.0}
