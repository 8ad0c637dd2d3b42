"""The self-play league: opponent sampling, PFSP, Elo, membership, persistence, ranking, and a step of games
on the real TicTacToe env with scripted policies standing in for the vLLM engines."""

import collections

import pytest
import torch

from agentrl.config import load_config
from agentrl.errors import ConfigError
from agentrl.selfplay import (
    SELF,
    Arena,
    League,
    SelfPlayConfig,
    SnapshotStore,
    expected_score,
    game_score,
    learner_view,
    match_verdict,
    pfsp_weights,
    plan_games,
)
from agentrl.train import TrainConfig
from agentrl.types import Episode, Status, Task, Turn

AGENTS = ("player_1", "player_2")


def league_with(n: int, **cfg) -> League:
    league = League(SelfPlayConfig(enabled=True, **cfg), seed=0)
    for step in range(n):
        league.add_snapshot(step, step)
    return league


def test_config_section_loads_and_rejects_bad_values():
    cfg = load_config(TrainConfig, None, ["selfplay.enabled=true", "selfplay.sampling=uniform"])
    assert cfg.selfplay.enabled and cfg.selfplay.sampling == "uniform"
    with pytest.raises(ConfigError, match="latest.*uniform.*pfsp"):
        load_config(TrainConfig, None, ["selfplay.sampling=best"])
    with pytest.raises(ConfigError, match=r"self_play_fraction=1.5 must be in \[0, 1\]"):
        SelfPlayConfig(self_play_fraction=1.5)
    with pytest.raises(ConfigError, match="tournament"):
        SelfPlayConfig(ranking="swiss")


def test_pfsp_weights_follow_alphastar_definitions():
    assert pfsp_weights([0.0, 0.5, 1.0], "hard", 2.0) == [1.0, 0.25, 0.0]
    assert pfsp_weights([0.0, 0.5, 0.9], "variance") == pytest.approx([0.0, 0.25, 0.09])
    assert pfsp_weights([1.0, 1.0], "hard") == [1.0, 1.0]  # all beaten: uniform, not a division by zero


@pytest.mark.parametrize("sampling", ["latest", "uniform", "pfsp"])
def test_opponent_probabilities_sum_to_one_with_the_self_share(sampling):
    league = league_with(3, sampling=sampling, self_play_fraction=0.25)
    probs = league.opponent_probabilities()
    assert sum(probs.values()) == pytest.approx(1.0) and probs[SELF] == 0.25
    if sampling == "latest":
        assert probs == {"snap-000000": 0.0, "snap-000001": 0.0, "snap-000002": 0.75, SELF: 0.25}
    else:  # pfsp with no games played: every win rate is 0.5, so uniform
        assert all(probs[m.id] == pytest.approx(0.25) for m in league.members)


def test_pfsp_prefers_snapshots_the_learner_loses_to():
    league = league_with(2, sampling="pfsp", self_play_fraction=0.0)
    for _ in range(10):
        league.record("snap-000000", 1.0)  # always beaten
        league.record("snap-000001", 0.0)  # always wins
    probs = league.opponent_probabilities()
    assert probs["snap-000001"] == pytest.approx(1.0) and probs["snap-000000"] == 0.0
    picks = collections.Counter(league.sample_opponents(200))
    assert picks == {"snap-000001": 200}


def test_an_empty_league_plays_only_itself():
    league = League(SelfPlayConfig(enabled=True), seed=0)
    assert league.opponent_probabilities() == {SELF: 1.0} and set(league.sample_opponents(5)) == {SELF}


def test_elo_is_zero_sum_and_moves_toward_the_result():
    league = league_with(1, elo_k=32.0)
    league.record("snap-000000", 1.0)
    assert league.learner_elo == pytest.approx(1016.0) and league.member("snap-000000").elo == pytest.approx(984.0)
    league.record(SELF, 1.0)  # self-play leaves ratings alone
    assert league.learner_elo == pytest.approx(1016.0)
    assert expected_score(1400, 1000) == pytest.approx(1 / (1 + 10 ** -1))
    new = league.add_snapshot(7, 7)
    assert new.elo == league.learner_elo  # a snapshot starts at the learner's rating


def test_win_rate_counts_the_recent_window_and_draws_as_half():
    league = league_with(1, win_rate_window=4)
    for s in (0.0, 0.0, 1.0, 0.5, 1.0, 1.0):
        league.record("snap-000000", s)
    m = league.member("snap-000000")
    assert m.win_rate() == pytest.approx((1.0 + 0.5 + 1.0 + 1.0) / 4)
    assert (m.games, m.wins, m.draws, m.losses) == (6, 3, 1, 2)
    with pytest.raises(ValueError, match="1, 0.5 or 0"):
        league.record("snap-000000", 0.7)
    with pytest.raises(KeyError, match="not in the league"):
        league.record("snap-999999", 1.0)


def test_a_full_league_keeps_its_first_snapshot_and_records_who_left():
    league = league_with(5, max_snapshots=3)
    assert [m.id for m in league.members] == ["snap-000000", "snap-000003", "snap-000004"]
    assert league.removed == ["snap-000001", "snap-000002"]
    with pytest.raises(ConfigError, match="already in the league"):
        league.add_snapshot(4, 9)


def test_league_round_trips_through_json_and_keeps_sampling_identically():
    import json

    league = league_with(3, sampling="uniform")
    league.record("snap-000001", 1.0)
    league.sample_opponents(3)
    copy = League.from_dict(league.config, json.loads(json.dumps(league.to_dict())))
    assert copy.to_dict() == league.to_dict()
    assert copy.sample_opponents(20) == league.sample_opponents(20)


def turn(agent, text="", **info):
    return Turn(agent=agent, index=0, messages=({"role": "assistant", "content": text},), info=info)


def test_game_score_by_reward_then_by_forfeit():
    task = Task(id="t")
    won = Episode(task=task, env_id="classic/TicTacToe-v0", seed=0, turns=(turn("player_1"), turn("player_2")),
                  reward={"player_1": 1.0, "player_2": 0.0})
    assert game_score(won, "player_1", "player_2") == 1.0 and game_score(won, "player_2", "player_1") == 0.0
    forfeit = won.replace(reward={"player_1": 0.0, "player_2": 0.0},
                          turns=(turn("player_1"), turn("player_2", "x", invalid_action="no digit")))
    assert game_score(forfeit, "player_1", "player_2") == 1.0
    draw = won.replace(reward={"player_1": 0.0, "player_2": 0.0})
    assert game_score(draw, "player_1", "player_2") == 0.5
    assert game_score(won.replace(status=Status.ENV_ERROR), "player_1", "player_2") is None


def test_learner_view_keeps_only_trained_seats():
    ep = Episode(task=Task(id="t"), env_id="x/Y-v0", seed=0, turns=(turn("player_1"), turn("player_2")),
                 reward={"player_1": 1.0, "player_2": -1.0},
                 outcome_rewards={"player_1": {"win": 1.0}, "player_2": {"win": 0.0}})
    view = learner_view(ep, ["player_2"])
    assert [t.agent for t in view.turns] == ["player_2"] and view.reward == {"player_2": -1.0}
    assert view.agents == ["player_2"] and view.id == ep.id


def test_plan_alternates_the_learner_seat_and_trains_both_seats_only_in_self_play():
    league = league_with(1, self_play_fraction=0.5)
    games = plan_games(league, 6, AGENTS, offset=1)
    assert [g.learner_seat for g in games] == ["player_2", "player_1"] * 3
    for g in games:
        assert {g.learner_seat, g.other_seat} == set(AGENTS)
        assert g.trained_seats == ((g.learner_seat, g.other_seat) if g.opponent == SELF else (g.learner_seat,))
    with pytest.raises(ConfigError, match="two-player"):
        plan_games(league, 1, ("a", "b", "c"))


@pytest.mark.parametrize("ranking", ["tournament", "round_robin"])
def test_ranking_puts_the_strongest_member_first(ranking):
    league = league_with(3, ranking=ranking)
    strength = {"snap-000000": 0, "snap-000001": 2, "snap-000002": 1, SELF: 3}
    ranks = league.rank(lambda a, b: strength[a] - strength[b])
    assert max(ranks, key=ranks.get) == SELF
    order = sorted(ranks, key=lambda k: -ranks[k])
    if ranking == "round_robin":
        assert order == [SELF, "snap-000001", "snap-000002", "snap-000000"]
    assert league.metrics()[f"league/rank_score/{order[1]}"] == ranks[order[1]]


def test_match_verdict():
    assert match_verdict([1.0, 0.5]) > 0 and match_verdict([0.0, 0.5]) < 0 and match_verdict([1.0, 0.0]) == 0


def test_snapshot_store_writes_and_reloads(tmp_path):
    store = SnapshotStore(tmp_path)
    store.put("snap-000001", [("w", torch.ones(2))])
    fresh = SnapshotStore(tmp_path)
    assert torch.equal(fresh.get("snap-000001")["w"], torch.ones(2))
    with pytest.raises(FileNotFoundError, match="snap-000009"):
        fresh.get("snap-000009")


# -- an Arena step on the real TicTacToe env ------------------------------------------------------------------
class FakeEngine:
    """A scripted policy with the engine's weight-sync surface; records which weights it was given."""

    def __init__(self, policy):
        self.policy, self.loaded, self.version = policy, [], 0

    async def generate(self, agent, messages, previous=None):
        return await self.policy.generate(agent, messages, previous)

    def update_weights(self, named, version=None):
        self.loaded.append(float(dict(named)["w"]))
        self.version = version if version is not None else self.version + 1


class FakeLearner:
    def __init__(self):
        self.version = 0

    def export_weights(self):
        return [("w", torch.tensor(float(self.version)))]


def make_arena(tmp_path, **cfg):
    from agentrl import registry
    from agentrl.environments.tictactoe import random_legal_policy
    from agentrl.rollout import run_episode

    rubric = registry.rubric("classic/TicTacToe-v0")

    async def rollouts(batch, policy, step, tag, group_size):
        out = []
        for task in batch:
            for k in range(group_size):
                out.append(await run_episode(registry.make("classic/TicTacToe-v0"), policy, task, step * 100 + k,
                                             rubric, group_id=f"{step}{tag}:{task.id}"))
        return out

    learner = FakeLearner()
    arena = Arena(SelfPlayConfig(enabled=True, snapshot_every=2, **cfg), League(SelfPlayConfig(**cfg), seed=0),
                  SnapshotStore(tmp_path), learner, FakeEngine(random_legal_policy(1)),
                  FakeEngine(random_legal_policy(2)), AGENTS, rollouts, 2, registry.tasks("classic/TicTacToe-v0"))
    return arena, learner


async def test_arena_step_plays_the_league_and_trains_only_on_the_learner_seat(tmp_path):
    arena, learner = make_arena(tmp_path, self_play_fraction=0.5, sampling="uniform")
    arena.add_anchor(0)
    assert [m.id for m in arena.league.members] == ["snap-000000"]
    tasks = arena.tasks[:6]
    generated, train_on, m = await arena.play_step(tasks, step=0)
    assert len(generated) == len(train_on) == 12 and m["league/games_self"] + m["league/games_past"] == 12
    assert m["league/games_past"] > 0 and m["league/games_self"] > 0  # seeded: both kinds drawn
    assert arena.opponent_engine.loaded == [0.0]  # the anchor's weights, loaded once for its games
    for full, view in zip(generated, train_on):
        opponent = full.group_id.split("-snap")[0]
        if "-self-" in full.group_id:
            assert {t.agent for t in view.turns} == {t.agent for t in full.turns}
        else:
            seat = full.group_id.split(":")[0].rsplit("-", 1)[1]
            assert {t.agent for t in view.turns} == {seat}, opponent
    member = arena.league.member("snap-000000")
    assert member.games == m["league/games_past"]

    learner.version = 2
    metrics = await arena.after_update(2)
    assert metrics["league/size"] == 2.0 and "league/elo/snap-000002" in metrics
    assert float(arena.store.get("snap-000002")["w"]) == 2.0


async def test_arena_ranks_the_league_with_real_games(tmp_path):
    arena, learner = make_arena(tmp_path, ranking="tournament", ranking_games=2)
    arena.add_anchor(0)
    learner.version = 2
    metrics = await arena.after_update(2)
    assert "league/rank_score/self" in metrics
    assert {f"league/rank_score/{m.id}" for m in arena.league.members} <= set(metrics)
    assert arena.engine.loaded[-1] == 2.0  # the learner's own weights are back in its engine after ranking


@pytest.mark.parametrize("bad_seat", AGENTS)
async def test_a_forfeit_on_the_real_game_is_a_loss_for_the_forfeiter_and_a_win_for_the_opponent(bad_seat):
    """TicTacToe: running out of invalid replies loses the game, so a self-play group sees a reward spread."""
    from agentrl import registry
    from agentrl.environments.tictactoe import random_legal_policy
    from agentrl.policy_contract import ScriptedPolicy
    from agentrl.rollout import run_episode

    other = AGENTS[1 - AGENTS.index(bad_seat)]
    nonsense = ScriptedPolicy(lambda agent, messages, rng: "pass")
    policies = {bad_seat: nonsense, other: random_legal_policy(1)}
    ep = await run_episode(registry.make("classic/TicTacToe-v0", max_invalid=2), policies, Task(id="forfeit"), 0,
                           registry.rubric("classic/TicTacToe-v0"))
    assert ep.status is Status.OK
    last = ep.turns_of(bad_seat)[-1]
    assert last.rewards["env"] == -1.0 and last.info["forfeit"] == bad_seat
    assert ep.outcome_rewards[bad_seat]["win"] == 0.0
    if ep.turns_of(other):  # the second mover had a turn before the first forfeited: it is credited the win
        assert ep.outcome_rewards[other]["win"] == 1.0 and ep.reward[other] > ep.reward[bad_seat]
    assert game_score(ep, other, bad_seat) == 1.0 and game_score(ep, bad_seat, other) == 0.0
