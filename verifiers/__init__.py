"""Judgement only: turn-level and outcome rewards, rubrics and the combiners from the research we serve.

Installed as ``agentrl.verifiers`` (the PyPI name ``verifiers`` belongs to another project).
"""

from agentrl.rubric import ENV_TERM, AgentScores, RewardTerm, Rubric, Score, reward
from agentrl.verifiers.checklist import Checklist, Item
from agentrl.verifiers.combine import Gated, Lexicographic, MultiplicativePenalty, Sum, clip, delta
from agentrl.verifiers.common import answer_tag_format, exact_match, extract_answer, length_penalty, numeric_match

__all__ = [
    "ENV_TERM", "AgentScores", "Checklist", "Gated", "Item", "Lexicographic", "MultiplicativePenalty", "RewardTerm",
    "Rubric", "Score", "Sum", "answer_tag_format", "clip", "delta", "exact_match", "extract_answer",
    "length_penalty", "numeric_match", "reward",
]
