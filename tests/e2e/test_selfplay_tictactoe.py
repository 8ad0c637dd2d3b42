"""End to end: `agentrl train` self-play on tic-tac-toe with a league, through real vLLM (CPU build).

A short run of launch/configs/selfplay_tictactoe.yaml (a tiny random model, two engines: the learner's and
the one snapshots are swapped into): snapshots join every step, the league is capped so one leaves, the
league is ranked by the tournament bracket, and games against snapshots are played and scored.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
STEPS = 3  # the anchor + 3 snapshots (one per step) overflow a league capped at 3: membership is exercised
TASKS, GROUP = 4, 2  # 4 game plans per step (seats alternate); 2 samples each keep GRPO groups


def test_selfplay_league_trains_snapshots_rates_and_ranks(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "agentrl.cli", "train", "--config", str(REPO / "launch/configs/selfplay_tictactoe.yaml"),
           f"run.out_dir={out}", "run.tensorboard=false", f"run.steps={STEPS}", "run.save_every=1",
           f"rollout.tasks_per_step={TASKS}", f"rollout.group_size={GROUP}", "rollout.max_tokens=1",
           "rollout.max_turns=14", "selfplay.snapshot_every=1", "selfplay.max_snapshots=3",
           "selfplay.self_play_fraction=0.25", "selfplay.ranking=tournament", "selfplay.ranking_games=1"]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3] and rows[-1]["learner/version"] == STEPS

    # membership: the anchor plus one snapshot per step, capped at 3 with the anchor kept
    league = json.loads((out / "checkpoints" / f"step-{STEPS:06d}" / "league.json").read_text())
    assert [m["id"] for m in league["members"]] == ["snap-000000", "snap-000002", "snap-000003"]
    assert league["removed"] == ["snap-000001"]
    assert [m["version"] for m in league["members"]] == [0, 2, 3]
    assert {p.name for p in (out / "league").glob("*.pt")} >= {"snap-000000.pt", "snap-000002.pt", "snap-000003.pt"}

    # games against snapshots were played and scored, and ratings moved as a zero-sum exchange
    past = sum(r["league/games_past"] for r in rows)
    assert past > 0 and sum(r["league/games_self"] for r in rows) + past == STEPS * TASKS * GROUP
    last = rows[-1]
    assert sum(m["games"] for m in league["members"]) > 0
    assert {"league/elo/learner", "league/win_rate/snap-000000", "league/elo/snap-000003"} <= set(last)
    assert 0.0 <= last["league/win_rate/snap-000000"] <= 1.0
    assert last["league/elo/learner"] != 1000.0 or last["league/elo/snap-000000"] != 1000.0

    # the tournament ranked the league (learner included) when snapshots joined
    assert "league/rank_score/self" in last and "league/rank_score/snap-000003" in last

    episodes = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert len(episodes) == STEPS * TASKS * GROUP
    vs_past = [e for e in episodes if "-snap-" in e["group_id"]]
    assert vs_past and any({t["agent"] for t in e["turns"]} == {"player_1", "player_2"} for e in vs_past)
