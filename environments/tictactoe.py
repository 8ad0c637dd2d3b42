"""Tic-tac-toe for two LLM agents: PettingZoo's classic `tictactoe_v3`, adapted, not rewritten.

Turn-taking: only the player to move is observed. The board is shown as text with the legal cells;
a reply names a cell 0-8 (column-major, as PettingZoo numbers them). An illegal or unreadable reply is
shown back to the player without stepping the game. PettingZoo's rewards (+1 win, -1 loss, 0 draw) are
the env term; the rubric adds `win` per player as an outcome.

Forfeit: a player whose `max_invalid`-th reply in a row is illegal loses the game on the spot (-1, its
opponent +1, both terminated, info ``forfeit`` names the loser), as PettingZoo's own illegal-move rule
(`TerminateIllegalWrapper`) ends a classic game against the offender. Scoring a forfeit 0-0 gave a
self-play group no reward spread between a player that kept replying nonsense and one that played on.
The id stays ``classic/TicTacToe-v0``: only games that ended by forfeit score differently (before, they
had no result at all), and every legal game is unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from agentrl.adapters import PettingZooAECEnv
from agentrl.env import InvalidAction, StepResult
from agentrl.policy_contract import ScriptedPolicy
from agentrl.types import Task
from agentrl.verifiers import Rubric

_MARKS = {0: ".", 1: "X", 2: "O"}


def _board_text(agent: str, obs: Any) -> str:
    planes = obs["observation"]  # [cell // 3, cell % 3, (mine, theirs)]
    mine = "X" if agent == "player_1" else "O"
    theirs = "O" if mine == "X" else "X"
    rows = []
    for r in range(3):
        cells = []
        for c in range(3):
            cell = c * 3 + r
            cells.append(mine if planes[c, r, 0] else theirs if planes[c, r, 1] else str(cell))
        rows.append(" ".join(cells))
    legal = [str(i) for i, ok in enumerate(obs["action_mask"]) if ok]
    return f"You play {mine}. Board:\n" + "\n".join(rows) + f"\nLegal moves: {' '.join(legal)}. Reply with one cell number."


class TicTacToeEnv(PettingZooAECEnv):
    def __init__(self, max_invalid: int = 3):
        from pettingzoo.classic import tictactoe_v3

        super().__init__(tictactoe_v3.env, observe=lambda agent, obs, info: _board_text(agent, obs),
                         parse_action=self._parse, max_invalid=max_invalid)

    async def step(self, actions) -> StepResult:
        result = await super().step(actions)
        if result.obs or not _ran_out_of_replies(result):
            return result
        (loser, why), = ((a, i["invalid_action"]) for a, i in result.infos.items() if "invalid_action" in i)
        players = self.possible_agents
        infos = {a: {"forfeit": loser, **({"invalid_action": why} if a == loser else {})} for a in players}
        return StepResult({}, {a: -1.0 if a == loser else 1.0 for a in players}, {a: True for a in players},
                          {a: False for a in players}, infos)

    def _parse(self, agent: str, text: str) -> int:
        found = re.findall(r"\d", text)
        if len(set(found)) != 1:  # none, or every cell listed for the parser to pick from
            raise InvalidAction("reply with one cell number from the legal moves.")
        cell = int(found[-1])
        mask = self.env.observe(agent)["action_mask"]
        if cell > 8 or not mask[cell]:
            legal = [i for i, ok in enumerate(mask) if ok]
            raise InvalidAction(f"cell {cell} is not free; legal moves are {legal}.")
        return cell


def _ran_out_of_replies(result: StepResult) -> bool:
    """The adapter ends a game whose mover used up its retries: no observation, everyone truncated, and the
    mover's info carries the last invalid reply."""
    return (bool(result.truncated) and all(result.truncated.values())
            and sum("invalid_action" in i for i in result.infos.values()) == 1)


def tasks(split: str = "train") -> list[Task]:
    return [Task(id=f"tictactoe-{split}-{i}", split=split) for i in range(8)]


def win(turns) -> float | None:
    if not turns:
        return None
    return float(sum(t.rewards.get("env") or 0.0 for t in turns) > 0)


def rubric() -> Rubric:
    return Rubric(outcome=[win])


def random_legal_policy(seed: int = 0) -> ScriptedPolicy:
    """Plays a uniformly random legal cell, read from the last observation."""

    def script(agent, messages, rng):
        legal = re.search(r"Legal moves: ([\d ]+)\.", messages[-1]["content"] or "")
        moves = legal.group(1).split() if legal else ["0"]
        return rng.choice(moves)

    return ScriptedPolicy(script, seed=seed)
