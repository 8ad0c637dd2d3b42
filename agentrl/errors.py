"""Every error agentrl raises on purpose, in one place.

Each message says what happened, what was expected, and how to fix it. All of them derive from
`AgentRLError`, so callers can catch the family; the ones about bad input also derive from `ValueError`
(or `KeyError`, `TypeError`) so generic handlers keep working.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class AgentRLError(Exception):
    """Base class of every error raised by agentrl on purpose."""


class ConfigError(AgentRLError, ValueError):
    """A config file, override or constructor argument is invalid."""


class UnknownKeyError(ConfigError):
    """A mapping had a key that is not one of the valid ones."""

    def __init__(self, what: str, key: str, valid: Iterable[str]):
        valid = sorted(valid)
        hint = did_you_mean(key, valid)
        super().__init__(
            f"unknown {what} {key!r}.{hint} Valid keys: {', '.join(valid) or '(none)'}."
        )
        self.key = key
        self.valid = valid


class UnknownEnvError(AgentRLError, KeyError):
    """`make` or `spec` was given an id that nobody registered."""

    def __init__(self, env_id: str, registered: Iterable[str]):
        registered = sorted(registered)
        hint = did_you_mean(env_id, registered)
        listing = "\n  ".join(registered) or "(none registered)"
        self.message = (
            f"no environment registered as {env_id!r}.{hint}\n"
            f"Registered environments:\n  {listing}\n"
            "Ids look like 'family/Name-v0'; `agentrl envs` lists them."
        )
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would otherwise print the repr of the message
        return self.message


class RegistrationError(AgentRLError, ValueError):
    """A `register` call was malformed (bad id, duplicate id, unloadable entry point)."""


class TaskError(AgentRLError, ValueError):
    """A task record is malformed."""


class ActionError(AgentRLError, ValueError):
    """`step` was called with actions for the wrong agents, or with a malformed action."""


class EpisodeOverError(AgentRLError, RuntimeError):
    """`step` was called after every agent terminated or truncated, or before `reset`."""


class RewardError(AgentRLError, TypeError):
    """A reward function returned something other than a number or None, or had an unknown argument."""


class PolicyError(AgentRLError, RuntimeError):
    """A policy failed to produce a turn."""


class ContextOverflowError(PolicyError):
    """The prompt no longer fits in the model's context; the episode is truncated, not failed."""


class SchemaError(AgentRLError, ValueError):
    """A serialized record has a schema version or shape this code cannot read."""


class CheckError(AgentRLError, AssertionError):
    """`check_env` found an environment that breaks the contract."""


class EngineMemoryError(AgentRLError, MemoryError):
    """An inference engine does not fit in the memory free on its device; the message names the setting to lower."""


class MemoryStallError(AgentRLError, MemoryError):
    """A run made no progress while the host had almost no memory available (it was thrashing); the message
    gives the numbers seen and the settings to lower (`agentrl.training.memwatch`)."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' Did you mean X?' suffix for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else ""
