"""agentrl: train and evaluate LLM agents with reinforcement learning.

The core API:
    Task, Turn, Episode, Status              records (agentrl.types)
    StepResult, ContractGuard                the environment contract (agentrl.env)
    register, make, spec, registered         the env registry (agentrl.registry)
    Policy, ScriptedPolicy                   policies (agentrl.policy_contract; engines in agentrl.inference)
    Rubric, reward, Score                    the scoring contract (agentrl.rubric)
    run_episode                              the rollout loop (agentrl.rollout)
    check_env                                contract checks (agentrl.checker)
Reward functions and combiners live in agentrl.verifiers, environments in agentrl.environments. The core
imports neither: envs and their CLI commands arrive through entry points, rubrics through env registrations.
"""

from agentrl.checker import check_env
from agentrl.env import ContractGuard, Environment, InvalidAction, StepResult
from agentrl.policy_contract import Policy, ScriptedPolicy
from agentrl.registry import make, register, registered, spec
from agentrl.rollout import run_episode
from agentrl.types import Episode, Status, Task, Turn, read_jsonl, write_jsonl

__version__ = "0.1.0"
__all__ = [
    "ContractGuard", "Environment", "Episode", "InvalidAction", "Policy", "ScriptedPolicy", "Status", "StepResult",
    "Task", "Turn", "check_env", "make", "read_jsonl", "register", "registered", "run_episode", "spec",
    "write_jsonl",
]
