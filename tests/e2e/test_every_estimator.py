"""Every advantage estimator trains through the real stack: vLLM rollouts of the quickstart env, the learner's
update with that estimator, and the in-place weight sync back into the engine (one shared engine)."""

import asyncio

import pytest

from agentrl import registry
from agentrl.config import load_config
from agentrl.learner import Learner
from agentrl.models import build_tiny_model
from agentrl.training.build import advantage_config, loss_config, rubric_for
from agentrl.training.config import TrainConfig
from agentrl.training.schedule import Schedule

pytestmark = [pytest.mark.vllm]

ESTIMATORS = ["grpo", "drgrpo", "rloo", "reinforce++", "reinforce++_baseline", "gae", "gigpo", "turn_returns",
              "turn_returns:gate", "gdpo", "tournament"]
EXTRA = {"gae": ["learner.value_head=true"], "tournament": ["algorithm.advantage.compare=agentrl.environments.echo:compare_rewards"],
         "turn_returns:gate": ["algorithm.advantage.gate_threshold=1.0", "algorithm.advantage.gate_on=success"]}


async def scripted_successes(tasks, rubric):
    """One correct, scripted episode per task, in that task's group: the engine's samples of the group then get
    nonzero advantages even while the random model fails every time (scripted turns carry no token ids, so
    they shape the group statistics without being trained on)."""
    from agentrl.rollout import run_episode

    policy = registry.scripted_policy("games/Echo-v0")
    return await asyncio.gather(*(run_episode(registry.make("games/Echo-v0"), policy, t, 0, rubric,
                                              group_id=f"0:{t.id}") for t in tasks))


async def play(specs, rubric, policy):
    from agentrl.rollout import run_episode

    return await asyncio.gather(*(run_episode(registry.make("games/Echo-v0"), policy, s.task, s.seed, rubric,
                                              max_turns=8, group_id=s.group_id) for s in specs))


@pytest.fixture(scope="module")
def engine():
    from agentrl.inference.vllm import VLLMPolicy

    path = str(build_tiny_model(vocab_size=128))
    policy = VLLMPolicy(path, max_tokens=1, seed=0, max_model_len=256, dtype="float32")
    yield path, policy
    policy.close()


@pytest.mark.parametrize("name", ESTIMATORS)
def test_estimator_updates_and_syncs(engine, name):
    path, policy = engine
    cfg = load_config(TrainConfig, "launch/configs/quickstart.yaml",
                      [f"algorithm.advantage.estimator={name.split(':')[0]}", "rollout.tasks_per_step=4", "rollout.group_size=4",
                       *EXTRA.get(name, [])])
    rubric = rubric_for(cfg)
    learner = Learner(path, cfg.learner, advantage_config(cfg, rubric), loss_config(cfg))
    schedule = Schedule(registry.tasks(cfg.env.id), cfg)
    tasks = schedule.tasks_for_step(0)
    episodes = asyncio.run(play(schedule.specs(0), rubric, policy))
    assert len(episodes) == 16 and all(not e.status.is_failure for e in episodes)
    reference = asyncio.run(scripted_successes(tasks, rubric))
    assert all(e.reward["agent"] == 3.0 for e in reference)
    metrics = learner.update(episodes + list(reference))
    assert metrics["learner/version"] == 1.0 and metrics["learner/sequences"] == 16.0
    assert metrics["learner/grad_norm"] > 1e-6, metrics
    seconds = policy.update_weights(learner.export_weights(), version=1)
    assert seconds > 0 and policy.version == 1
