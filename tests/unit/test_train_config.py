"""The training core's config and schedule (agentrl.training): loading, refusals, task order, refills, metrics."""

import pytest

from agentrl.config import load_config
from agentrl.errors import ConfigError, UnknownKeyError
from agentrl.training.build import advantage_config, loss_config, prepare, rubric_for
from agentrl.training.config import TrainConfig, policy_map
from agentrl.training.schedule import Schedule, rollout_metrics
from agentrl.types import Episode, Status, Task

QUICKSTART = "launch/configs/quickstart.yaml"


def test_quickstart_config_loads_with_nested_algorithm_overrides():
    cfg = load_config(TrainConfig, QUICKSTART, ["run.steps=7", "algorithm.advantage.estimator=rloo",
                                                "algorithm.loss.clip_high=0.28", "algorithm.advantage.eps=0.001"])
    assert cfg.env.id == "games/Echo-v0" and cfg.run.steps == 7
    assert cfg.algorithm.advantage.estimator == "rloo" and cfg.algorithm.advantage.eps == 0.001
    assert cfg.algorithm.loss.clip_high == 0.28 and cfg.algorithm.loss.entropy_coef == 0.05  # from the file


def test_every_field_of_the_estimator_and_loss_configs_is_settable():
    """The nested sections are the real AdvantageConfig/LossConfig: nothing is mirrored, nothing left out."""
    import dataclasses

    from agentrl.algorithms import AdvantageConfig, LossConfig

    for section, cls in (("advantage", AdvantageConfig), ("loss", LossConfig)):
        fields = {f.name for f in dataclasses.fields(cls)}
        got = {f.name for f in dataclasses.fields(type(getattr(TrainConfig().algorithm, section)))}
        assert got == fields
    cfg = load_config(TrainConfig, None, ["algorithm.advantage.unbiased_std=false", "algorithm.advantage.roles={a: r}",
                                          "algorithm.loss.constant_normaliser=64", "algorithm.advantage.tournament_seed=3"])
    assert not cfg.algorithm.advantage.unbiased_std and cfg.algorithm.advantage.roles == {"a": "r"}
    assert cfg.algorithm.loss.constant_normaliser == 64 and cfg.algorithm.advantage.tournament_seed == 3


def test_old_flat_keys_and_section_values_say_where_they_went():
    with pytest.raises(ConfigError, match=r"algorithm.entropy_coef is now algorithm.loss.entropy_coef"):
        load_config(TrainConfig, None, ["algorithm.entropy_coef=0.1"])
    with pytest.raises(ConfigError, match=r"algorithm.advantage is a section.*algorithm.advantage.estimator="):
        load_config(TrainConfig, None, ["algorithm.advantage=rloo"])
    with pytest.raises(ConfigError, match="env.reward_weights"):
        load_config(TrainConfig, None, ["algorithm.advantage.weights={env: 2.0}"])


def test_unknown_keys_are_rejected_with_the_valid_list():
    with pytest.raises(UnknownKeyError, match="group_size"):
        load_config(TrainConfig, QUICKSTART, ["rollout.groupsize=4"])
    with pytest.raises(UnknownKeyError, match="algorithm, env, learner, model, policies, rollout, run, selfplay"):
        load_config(TrainConfig, None, ["optimizer.lr=1"])


def test_task_order_is_seeded_and_covers_each_epoch():
    cfg = load_config(TrainConfig, None, ["rollout.tasks_per_step=4"])
    schedule = Schedule([Task(id=str(i)) for i in range(10)], cfg)
    epoch = [t.id for s in range(2) for t in schedule.tasks_for_step(s)]
    assert len(set(epoch)) == 8  # no repeats within an epoch
    assert [t.id for t in schedule.tasks_for_step(5)] == [t.id for t in Schedule(schedule.tasks, cfg).tasks_for_step(5)]
    with pytest.raises(ConfigError, match="only 10"):
        Schedule(schedule.tasks, load_config(TrainConfig, None, ["rollout.tasks_per_step=11"]))


def test_specs_carry_seeds_group_ids_and_their_origin():
    cfg = load_config(TrainConfig, None, ["rollout.tasks_per_step=2", "rollout.group_size=3", "run.seed=4"])
    specs = Schedule([Task(id=str(i)) for i in range(6)], cfg).specs(3)
    assert len(specs) == 6 and len({s.seed for s in specs}) == 3  # sample k of every task shares a seed
    assert {s.group_id for s in specs} == {f"3:{s.task.id}" for s in specs}
    assert specs[0].info() == {"step": 3, "sample": 0}
    refill = Schedule([Task(id="t")], load_config(TrainConfig, None, ["rollout.tasks_per_step=1"])).specs(0, tag="r1")
    assert refill[0].group_id == "0r1:t" and refill[0].info()["round"] == "r1"


def test_failed_episodes_are_counted_not_scored():
    task = Task(id="t")
    eps = [Episode(task=task, env_id="x/Y-v0", seed=0, reward={"a": 1.0}, outcome_rewards={"a": {"success": 1.0}}),
           Episode(task=task, env_id="x/Y-v0", seed=0, status=Status.ENV_ERROR)]
    m = rollout_metrics(eps, "success")
    assert m["rollout/reward"] == 1.0 and m["rollout/success"] == 1.0
    assert m["rollout/failed"] == 1.0 and m["rollout/status_env_error"] == 1.0


def test_policy_map_defaults_to_one_shared_policy_and_validates_coverage():
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
                                  "turn_returns", "gdpo", "tournament"])
def test_every_estimator_builds_its_learner_configs_from_the_cli(name):
    extra = {"tournament": ["algorithm.advantage.compare=agentrl.environments.echo:compare_rewards"],
             "gae": ["learner.value_head=true"]}.get(name, [])
    cfg = load_config(TrainConfig, QUICKSTART, [f"algorithm.advantage.estimator={name}", *extra])
    parts = prepare(cfg)
    assert parts.advantage.estimator == name and parts.advantage.weights == rubric_for(cfg).weights
    assert loss_config(cfg).clip_low == 0.2 and loss_config(cfg, tis_cap=2.0).tis_cap == 2.0


def test_reward_weights_reach_the_estimator_and_bad_names_are_refused():
    cfg = load_config(TrainConfig, QUICKSTART, ["env.reward_weights={env: 0.5}"])
    assert advantage_config(cfg, rubric_for(cfg)).weights["env"] == 0.5
    with pytest.raises(ConfigError, match="rubric's terms are"):
        prepare(load_config(TrainConfig, QUICKSTART, ["env.reward_weights={nope: 1.0}"]))


async def test_dynamic_sampling_drops_constant_groups_and_refills_within_budget():
    """Scripted policies stand in for the engine: the echo solver makes every group constant (all correct)."""
    from agentrl import registry
    from agentrl.policy_contract import ScriptedPolicy
    from agentrl.rollout import run_episode

    cfg = load_config(TrainConfig, QUICKSTART, ["rollout.tasks_per_step=2", "rollout.group_size=3",
                                                "rollout.dynamic_sampling=true", "rollout.max_sampling_rounds=3"])
    schedule = Schedule(registry.tasks("games/Echo-v0")[:20], cfg)
    rubric = registry.rubric("games/Echo-v0")

    def runner(policy):
        async def run(specs):
            return [await run_episode(registry.make("games/Echo-v0"), policy, s.task, s.seed, rubric, max_turns=8,
                                      group_id=s.group_id) for s in specs]
        return run

    solver = runner(registry.scripted_policy("games/Echo-v0"))
    batch = await schedule.collect(0, await solver(schedule.specs(0)), solver)
    assert len(batch.generated) == 3 * 2 * 3 and batch.train_on == []  # 3 rounds of 2 groups x 3 samples, constant
    assert batch.metrics == {"rollout/sampling_rounds": 3.0, "rollout/dropped_groups": 6.0, "rollout/kept_groups": 0.0}
    assert len({e.group_id for e in batch.generated}) == 6  # refill rounds get their own group ids

    coin = runner(ScriptedPolicy(lambda agent, messages, rng: rng.choice([messages[-1]["content"].split()[-1], "x"]),
                                 seed=1))
    batch = await schedule.collect(0, await coin(schedule.specs(0)), coin)
    assert batch.metrics["rollout/kept_groups"] == 2.0
    assert {e.group_id for e in batch.train_on} <= {e.group_id for e in batch.generated}


async def test_overlong_shaping_adds_a_weighted_turn_term():
    from agentrl import registry
    from agentrl.rollout import run_episode

    cfg = load_config(TrainConfig, QUICKSTART, ["rollout.tasks_per_step=1", "rollout.group_size=1",
                                                "algorithm.overlong.max_tokens=4", "algorithm.overlong.cache_tokens=2"])
    schedule = Schedule(registry.tasks("games/Echo-v0")[:1], cfg)
    spec = schedule.specs(0)[0]
    first = [await run_episode(registry.make("games/Echo-v0"), registry.scripted_policy("games/Echo-v0"), spec.task,
                               spec.seed, registry.rubric("games/Echo-v0"), group_id=spec.group_id)]
    batch = await schedule.collect(0, first, None)
    assert all(t.rewards["overlong"] == 0.0 for t in batch.train_on[0].turns)  # scripted turns have no tokens
    assert advantage_config(cfg, rubric_for(cfg)).weights["overlong"] == 1.0


def test_sleep_during_update_is_refused_where_no_gpu_engine_can_sleep(tmp_path):
    from agentrl.distributed.config import RayTrainConfig
    from agentrl.inference.vllm import VLLMPolicy
    from agentrl.models import build_tiny_model

    assert load_config(TrainConfig, None, ["model.sleep_during_update=true"]).model.sleep_during_update
    with pytest.raises(ConfigError, match="sleep_during_update=false"):
        load_config(RayTrainConfig, None, ["model.sleep_during_update=true"])
    if not __import__("torch").cuda.is_available():  # a CPU engine refuses before it starts
        with pytest.raises(ConfigError, match="sleep_during_update: false"):
            VLLMPolicy(str(build_tiny_model(tmp_path / "m")), sleep_mode=True)
