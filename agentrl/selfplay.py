"""Self-play with a league of frozen snapshots, for two-player games (e.g. classic/TicTacToe-v0).

The learning policy plays every game in one seat (seats alternate between games). The other seat is
either the learner itself (self-play proper: both seats' turns are trained on) or a frozen past snapshot
drawn from the league (only the learner's turns are trained on). Every `snapshot_every` steps the
learner's weights join the league as a new frozen member.

Opponent sampling (`SelfPlayConfig.sampling`), for the games not played against the learner itself:
- ``latest``:  the newest snapshot;
- ``uniform``: uniform over all snapshots;
- ``pfsp``:    prioritized fictitious self-play as AlphaStar defines it (Vinyals et al., 2019): snapshot B
  is drawn with probability f(P[learner beats B]) / sum over the league, with
  ``hard``: f(x) = (1 - x)^p (favours opponents the learner still loses to) or
  ``variance``: f(x) = x (1 - x) (favours opponents of similar strength).
  /work/shared/PAPERS.md names tournaments (ArenaRL), PSRO populations (RAE) and generation tracking
  (Open-Ended Learning) but no opponent-sampling rule, so the AlphaStar definition is used as published.

P[learner beats B] is the learner's score against B (win 1, draw 0.5, loss 0) over its last
`win_rate_window` games with B; a snapshot never played counts 0.5. A game's result comes from the two
seats' episode rewards; a seat that ended the game by running out of invalid replies forfeits.

Ratings: every league member and the learner carry an Elo rating (start `elo_start`, factor `elo_k`);
each game against a snapshot updates both; a new snapshot starts at the learner's rating. Self-play
games leave ratings alone (a player does not rate against itself).

Tournament ranking (``ranking: tournament``, ArenaRL's seeded single-elimination bracket, N - 1 matches;
``round_robin`` for the O(N^2) reference): every `rank_every` snapshots the league members and the
learner play matches of `ranking_games` games, and the bracket's scores rank them (seeded by Elo).

The league's state (members, ratings, recent results, the learner's seat history) is JSON
(`League.to_dict` / `from_dict`) and is saved with each checkpoint; snapshot weights live in files.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from agentrl.errors import ConfigError
from agentrl.types import Episode

SELF = "self"  # the opponent id of a game against the current learner
SAMPLINGS = ("latest", "uniform", "pfsp")
WEIGHTINGS = ("hard", "variance")
RANKINGS = ("none", "tournament", "round_robin")


@dataclasses.dataclass(frozen=True)
class SelfPlayConfig:
    """The `selfplay:` section of the train config; off unless `enabled`."""

    enabled: bool = False
    sampling: str = "pfsp"  # latest | uniform | pfsp: how a past snapshot is drawn
    self_play_fraction: float = 0.5  # share of games against the current learner itself
    snapshot_every: int = 5  # add the learner's weights to the league every N training steps
    max_snapshots: int = 10  # league size cap; the oldest snapshot but the first leaves when full
    pfsp_weighting: str = "hard"  # hard: (1 - x)^p, variance: x (1 - x); x = learner's win rate vs it
    pfsp_power: float = 2.0
    win_rate_window: int = 64  # recent games per snapshot that its win rate counts
    elo_start: float = 1000.0
    elo_k: float = 16.0
    ranking: str = "none"  # none | tournament | round_robin
    rank_every: int = 1  # rank every N snapshots added (ranking != none)
    ranking_games: int = 2  # games per match (seats alternate)

    def __post_init__(self) -> None:
        if self.sampling not in SAMPLINGS:
            raise ConfigError(f"selfplay.sampling={self.sampling!r}; choose one of {list(SAMPLINGS)}.")
        if self.pfsp_weighting not in WEIGHTINGS:
            raise ConfigError(f"selfplay.pfsp_weighting={self.pfsp_weighting!r}; choose one of {list(WEIGHTINGS)}.")
        if self.ranking not in RANKINGS:
            raise ConfigError(f"selfplay.ranking={self.ranking!r}; choose one of {list(RANKINGS)}.")
        if not 0.0 <= self.self_play_fraction <= 1.0:
            raise ConfigError(f"selfplay.self_play_fraction={self.self_play_fraction} must be in [0, 1].")
        for key in ("snapshot_every", "max_snapshots", "win_rate_window", "rank_every", "ranking_games"):
            if getattr(self, key) < 1:
                raise ConfigError(f"selfplay.{key} must be at least 1, got {getattr(self, key)}.")
        if self.max_snapshots < 2 and self.ranking != "none":
            raise ConfigError("selfplay.ranking needs max_snapshots >= 2 to have a league to rank.")


@dataclasses.dataclass
class Member:
    """A frozen snapshot in the league and the learner's record against it."""

    id: str
    step: int
    version: int
    elo: float
    games: int = 0
    wins: int = 0
    draws: int = 0
    losses: int = 0
    recent: collections.deque = dataclasses.field(default_factory=collections.deque)  # learner's scores vs it
    rank: float | None = None  # the last tournament score (higher is better)

    def win_rate(self) -> float:
        """The learner's mean score over its recent games against this member (0.5 if none)."""
        return sum(self.recent) / len(self.recent) if self.recent else 0.5


def expected_score(rating: float, opponent: float) -> float:
    """Elo's expected score of `rating` against `opponent`."""
    return 1.0 / (1.0 + 10.0 ** ((opponent - rating) / 400.0))


def pfsp_weights(win_rates: Sequence[float], weighting: str = "hard", power: float = 2.0) -> list[float]:
    """AlphaStar's PFSP weights from the learner's win rates; all-zero weights fall back to uniform."""
    if weighting == "hard":
        w = [(1.0 - x) ** power for x in win_rates]
    elif weighting == "variance":
        w = [x * (1.0 - x) for x in win_rates]
    else:
        raise ConfigError(f"unknown PFSP weighting {weighting!r}; choose one of {list(WEIGHTINGS)}.")
    return w if sum(w) > 0 else [1.0] * len(w)


class League:
    """Snapshots, the learner's results and ratings, and opponent sampling; see the module docstring."""

    def __init__(self, config: SelfPlayConfig, seed: int = 0):
        self.config = config
        self.members: list[Member] = []
        self.learner_elo = config.elo_start
        self.removed: list[str] = []  # ids that left the league (size cap), in order
        self.rng = random.Random(seed)

    # -- membership -------------------------------------------------------------------------------------
    def add_snapshot(self, step: int, version: int) -> Member:
        """The learner's current weights join as a frozen member (the caller stores the weights under its id).

        When the league is full the oldest member after the first leaves: the first snapshot stays as a
        fixed anchor, so a rating drift stays visible against it.
        """
        member = Member(id=f"snap-{step:06d}", step=step, version=version, elo=self.learner_elo,
                        recent=collections.deque(maxlen=self.config.win_rate_window))
        if any(m.id == member.id for m in self.members):
            raise ConfigError(f"snapshot {member.id} is already in the league.")
        self.members.append(member)
        while len(self.members) > self.config.max_snapshots:
            self.removed.append(self.members.pop(1 if len(self.members) > 1 else 0).id)
        return member

    def member(self, member_id: str) -> Member:
        for m in self.members:
            if m.id == member_id:
                return m
        raise KeyError(f"{member_id!r} is not in the league; members are {[m.id for m in self.members]}.")

    # -- sampling ---------------------------------------------------------------------------------------
    def opponent_probabilities(self) -> dict[str, float]:
        """The probability of each opponent id (SELF included) for one game."""
        cfg = self.config
        if not self.members:
            return {SELF: 1.0}
        past = 1.0 - cfg.self_play_fraction
        if cfg.sampling == "latest":
            weights = [0.0] * (len(self.members) - 1) + [1.0]
        elif cfg.sampling == "uniform":
            weights = [1.0] * len(self.members)
        else:
            weights = pfsp_weights([m.win_rate() for m in self.members], cfg.pfsp_weighting, cfg.pfsp_power)
        total = sum(weights)
        probs = {m.id: past * w / total for m, w in zip(self.members, weights)}
        probs[SELF] = cfg.self_play_fraction
        return probs

    def sample_opponents(self, n: int) -> list[str]:
        """Opponent ids for `n` games (seeded by the league's generator)."""
        probs = self.opponent_probabilities()
        ids = list(probs)
        return self.rng.choices(ids, weights=[probs[i] for i in ids], k=n)

    # -- results ----------------------------------------------------------------------------------------
    def record(self, opponent: str, score: float) -> None:
        """The learner scored `score` (1 win, 0.5 draw, 0 loss) in one game against `opponent`."""
        if score not in (0.0, 0.5, 1.0):
            raise ValueError(f"a game score is 1, 0.5 or 0, got {score!r}.")
        if opponent == SELF:
            return
        m = self.member(opponent)
        m.games += 1
        m.wins += score == 1.0
        m.draws += score == 0.5
        m.losses += score == 0.0
        m.recent.append(score)
        delta = self.config.elo_k * (score - expected_score(self.learner_elo, m.elo))
        self.learner_elo += delta
        m.elo -= delta

    def metrics(self) -> dict[str, float]:
        out = {"league/size": float(len(self.members)), "league/elo/learner": self.learner_elo}
        for m in self.members:
            out[f"league/elo/{m.id}"] = m.elo
            out[f"league/win_rate/{m.id}"] = m.win_rate()
            out[f"league/games/{m.id}"] = float(m.games)
            if m.rank is not None:
                out[f"league/rank_score/{m.id}"] = m.rank
        return out

    # -- tournament ranking -----------------------------------------------------------------------------
    def rank(self, match: Callable[[str, str], float], seed: int = 0) -> dict[str, float]:
        """Rank the members and the learner (SELF) by `ranking`, from `match(a, b)`: > 0 when a did better
        over a match, < 0 when b did, 0 even. Blocking; seeds the bracket by Elo. Returns {id: score}."""
        from agentrl.algorithms.tournament import round_robin, single_elimination

        ids = [m.id for m in self.members] + [SELF]
        elo = [m.elo for m in self.members] + [self.learner_elo]
        if self.config.ranking == "round_robin":
            scores, _ = round_robin(ids, match)
        else:
            scores, _ = single_elimination(ids, match, seed=seed, seed_scores=elo)
        for m, s in zip(self.members, scores):
            m.rank = s
        return dict(zip(ids, scores))

    def ranking_due(self) -> bool:
        cfg = self.config
        return cfg.ranking != "none" and len(self.members) >= 2 and \
            (len(self.members) + len(self.removed)) % cfg.rank_every == 0

    # -- persistence ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        members = [{**dataclasses.asdict(m), "recent": list(m.recent)} for m in self.members]
        return {"learner_elo": self.learner_elo, "members": members, "removed": list(self.removed),
                "rng": _rng_state(self.rng)}

    @classmethod
    def from_dict(cls, config: SelfPlayConfig, data: Mapping[str, Any]) -> League:
        league = cls(config)
        league.learner_elo = float(data["learner_elo"])
        league.removed = list(data.get("removed", ()))
        for m in data["members"]:
            recent = collections.deque(m["recent"], maxlen=config.win_rate_window)
            league.members.append(Member(**{**m, "recent": recent}))
        if "rng" in data:
            league.rng.setstate(_rng_from_json(data["rng"]))
        return league


def _rng_state(rng: random.Random) -> list:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _rng_from_json(state: Sequence) -> tuple:
    return (state[0], tuple(state[1]), state[2])


# -- games ---------------------------------------------------------------------------------------------------
def seats(possible_agents: Sequence[str]) -> tuple[str, str]:
    if len(possible_agents) != 2:
        raise ConfigError(f"self-play needs a two-player game; this env has agents {list(possible_agents)}.")
    return possible_agents[0], possible_agents[1]


def forfeited(episode: Episode, agent: str) -> bool:
    """The agent ended the game by running out of invalid replies (its last turn was refused)."""
    mine = episode.turns_of(agent)
    return bool(mine) and "invalid_action" in mine[-1].info and episode.turns[-1].agent == agent


def game_score(episode: Episode, agent: str, other: str) -> float | None:
    """`agent`'s result against `other`: 1 win, 0.5 draw, 0 loss; None for a failed episode.

    The seat with the higher episode reward wins; with equal rewards a seat that forfeited loses.
    """
    if episode.status.is_failure:
        return None
    mine, theirs = episode.reward.get(agent, 0.0), episode.reward.get(other, 0.0)
    if mine != theirs:
        return 1.0 if mine > theirs else 0.0
    lost, won = forfeited(episode, agent), forfeited(episode, other)
    if lost != won:
        return 0.0 if lost else 1.0
    return 0.5


def learner_view(episode: Episode, trained: Sequence[str]) -> Episode:
    """The episode as the learner should see it: only the turns, rewards and outcomes of `trained` seats
    (a frozen opponent's tokens came from other weights and must not be trained on)."""
    keep = set(trained)
    return episode.replace(turns=tuple(t for t in episode.turns if t.agent in keep),
                           reward={a: r for a, r in episode.reward.items() if a in keep},
                           outcome_rewards={a: o for a, o in episode.outcome_rewards.items() if a in keep})


@dataclasses.dataclass(frozen=True)
class Game:
    """One planned game: which seat the learner takes and who sits in the other."""

    index: int
    learner_seat: str
    other_seat: str
    opponent: str  # SELF or a member id

    @property
    def trained_seats(self) -> tuple[str, ...]:
        return (self.learner_seat, self.other_seat) if self.opponent == SELF else (self.learner_seat,)


def plan_games(league: League, n: int, possible_agents: Sequence[str], offset: int = 0) -> list[Game]:
    """`n` games: opponents drawn from the league, the learner's seat alternating (first mover every
    other game, counted from `offset` so a resumed run keeps alternating)."""
    a, b = seats(possible_agents)
    opponents = league.sample_opponents(n)
    out = []
    for i, opp in enumerate(opponents):
        first = (offset + i) % 2 == 0
        out.append(Game(i, a if first else b, b if first else a, opp))
    return out


# -- snapshot weights ----------------------------------------------------------------------------------------
class SnapshotStore:
    """Snapshot weights as files `<folder>/<id>.pt` ({name: tensor} on CPU), cached in memory."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._cache: dict[str, dict[str, Any]] = {}

    def put(self, member_id: str, named_tensors: Any) -> None:
        import torch

        state = {name: t.detach().to("cpu").clone() for name, t in named_tensors}
        tmp = self.folder / f".{member_id}.tmp"
        torch.save(state, tmp)
        tmp.rename(self.folder / f"{member_id}.pt")
        self._cache[member_id] = state

    def get(self, member_id: str) -> dict[str, Any]:
        import torch

        if member_id not in self._cache:
            path = self.folder / f"{member_id}.pt"
            if not path.is_file():
                raise FileNotFoundError(f"snapshot weights {path} are missing; the league cannot load {member_id}.")
            self._cache[member_id] = torch.load(path, map_location="cpu", weights_only=True)
        return self._cache[member_id]

    def drop(self, member_id: str) -> None:
        self._cache.pop(member_id, None)


async def run_ranking(league: League, match: Callable[[str, str], Awaitable[float]], seed: int = 0
                      ) -> dict[str, float]:
    """`League.rank` with an async `match`: the bracket runs in a thread, each match on this loop."""
    import asyncio

    loop = asyncio.get_running_loop()

    def blocking_match(a: str, b: str) -> float:
        return asyncio.run_coroutine_threadsafe(match(a, b), loop).result()

    return await asyncio.to_thread(league.rank, blocking_match, seed)


def match_verdict(scores: Sequence[float]) -> float:
    """A match's verdict from the first player's game scores: > 0 it won more, < 0 it lost more, 0 even."""
    total = sum(scores) - 0.5 * len(scores)
    return 0.0 if math.isclose(total, 0.0, abs_tol=1e-9) else total


# -- the training-loop side ----------------------------------------------------------------------------------
Rollouts = Callable[[list, Any, int, str, int], Awaitable[list[Episode]]]  # (tasks, policy, step, tag, group_size)


@dataclasses.dataclass
class Arena:
    """Runs a step's games against the league and keeps the league up to date (used by `agentrl train`).

    `rollouts(tasks, policy, step, tag, group_size)` plays every task x group_size with `policy` (one policy
    or {agent: policy}) and returns the episodes in that order. `engine` is the learner's rollout engine,
    `opponent_engine` a second engine whose weights are swapped to each snapshot in turn.
    """

    config: SelfPlayConfig
    league: League
    store: SnapshotStore
    learner: Any
    engine: Any
    opponent_engine: Any
    agents: tuple[str, str]
    rollouts: Rollouts
    group_size: int
    tasks: list  # the env's tasks; ranking matches cycle through them
    _rank_step: int = 0
    _loaded: str | None = None  # the snapshot now in the opponent engine

    async def play_step(self, batch: list, step: int) -> tuple[list[Episode], list[Episode], dict[str, float]]:
        """(every episode, the learner's views of them, metrics) for one step; one game plan per task, its
        group_size samples share opponent and seat so a group compares like with like."""
        games = plan_games(self.league, len(batch), self.agents, offset=step * len(batch))
        generated: list[Episode] = []
        train_on: list[Episode] = []
        scores: dict[str, list[float]] = {}
        for (opponent, seat), planned in _by_opponent_and_seat(games).items():
            if opponent == SELF:
                policy: Any = self.engine
            else:
                if self._loaded != opponent:
                    self.opponent_engine.update_weights(self.store.get(opponent).items(),
                                                        version=self.league.member(opponent).version)
                    self._loaded = opponent
                policy = {seat: self.engine, planned[0].other_seat: self.opponent_engine}
            episodes = await self.rollouts([batch[g.index] for g in planned], policy, step, f"-{opponent}-{seat}",
                                           self.group_size)
            for k, episode in enumerate(episodes):
                game = planned[k // self.group_size]
                generated.append(episode)
                train_on.append(learner_view(episode, game.trained_seats))
                score = game_score(episode, game.learner_seat, game.other_seat)
                if score is not None:
                    self.league.record(opponent, score)
                    scores.setdefault("self" if opponent == SELF else "past", []).append(score)
        metrics = {"league/games_self": float(len(scores.get("self", ()))),
                   "league/games_past": float(len(scores.get("past", ())))}
        if scores.get("past"):
            metrics["league/score_vs_past"] = sum(scores["past"]) / len(scores["past"])
        return generated, train_on, metrics

    def add_anchor(self, step: int) -> None:
        """Put the starting weights in an empty league, so past-snapshot games begin from the first step."""
        if not self.league.members and not self.league.removed:
            member = self.league.add_snapshot(step, int(self.learner.version))
            self.store.put(member.id, self.learner.export_weights())

    async def after_update(self, step: int) -> dict[str, float]:
        """Snapshot the learner every `snapshot_every` steps (ranking the league when due); league metrics."""
        if step % self.config.snapshot_every == 0:
            before = set(self.league.removed)
            member = self.league.add_snapshot(step, int(self.learner.version))
            self.store.put(member.id, self.learner.export_weights())
            for gone in set(self.league.removed) - before:
                self.store.drop(gone)
            if self.league.ranking_due():
                self._rank_step = 1_000_000 + step  # seeds apart from the training games'
                ranks = await run_ranking(self.league, self._match, seed=step)
                self.engine.update_weights(self.learner.export_weights(), version=self.learner.version)
                return {**self.league.metrics(), "league/rank_score/self": ranks[SELF]}
        return self.league.metrics()

    async def _match(self, a: str, b: str) -> float:
        """`ranking_games` games of a (in the learner's engine) vs b (in the opponent engine), seats alternating."""
        self.engine.update_weights(self._weights(a), version=self.engine.version)
        self.opponent_engine.update_weights(self._weights(b), version=self.opponent_engine.version)
        self._loaded = None
        scores = []
        for j in range(self.config.ranking_games):
            seat_a, seat_b = self.agents if j % 2 == 0 else self.agents[::-1]
            episodes = await self.rollouts([self.tasks[j % len(self.tasks)]],
                                           {seat_a: self.engine, seat_b: self.opponent_engine},
                                           self._rank_step, f"-rank-{a}-{b}-{j}", 1)
            scores.extend(s for s in (game_score(e, seat_a, seat_b) for e in episodes) if s is not None)
        return match_verdict(scores)

    def _weights(self, member_id: str) -> Any:
        return self.learner.export_weights() if member_id == SELF else self.store.get(member_id).items()


def _by_opponent_and_seat(games: Sequence[Game]) -> dict[tuple[str, str], list[Game]]:
    out: dict[tuple[str, str], list[Game]] = {}
    for g in sorted(games, key=lambda g: (g.opponent != SELF, g.opponent, g.learner_seat, g.index)):
        out.setdefault((g.opponent, g.learner_seat), []).append(g)
    return out


def start_arena(cfg: Any, learner: Any, engine: Any, tasks: list, play: Callable[[list, Any], Awaitable[list[Episode]]],
                out: Path, resume_from: Path | None, start: int) -> Arena:
    """The league (as of the checkpoint being resumed, if any), a second engine for the opponents, and the arena.
    `play(specs, policy)` plays episode specs with one policy or {agent: policy} (the trainer's runner)."""
    from agentrl import registry
    from agentrl.training.build import make_engine
    from agentrl.training.checkpoints import league_of
    from agentrl.training.schedule import specs_for

    saved = league_of(resume_from) if resume_from is not None else None
    league = League.from_dict(cfg.selfplay, saved) if saved else League(cfg.selfplay, seed=cfg.run.seed)
    opponent = make_engine(cfg, learner.model_path, seed=cfg.run.seed + 1)  # its weights are swapped per game

    async def rollouts(batch: list, policy: Any, step: int, tag: str, group_size: int) -> list[Episode]:
        return await play(specs_for(batch, step, group_size, cfg.run.seed, tag), policy)

    agents = tuple(registry.make(cfg.env.id, **cfg.env.kwargs).possible_agents)
    arena = Arena(cfg.selfplay, league, SnapshotStore(out / "league"), learner, engine, opponent, agents, rollouts,
                  cfg.rollout.group_size, list(tasks))
    arena.add_anchor(start)
    return arena
